#pragma once
/// @file
/// @brief The library's version. CMake reads it from here (`project(VERSION)`),
/// so this file is the one place it is written.
///
/// @code
/// static_assert(CLEORI_VERSION >= 100);   // 0.1.0 or later
/// std::puts(CLEORI_VERSION_STRING);       // "0.1.0"
/// @endcode

#define CLEORI_VERSION_MAJOR 0
#define CLEORI_VERSION_MINOR 1
#define CLEORI_VERSION_PATCH 0
/// MAJOR × 10000 + MINOR × 100 + PATCH
#define CLEORI_VERSION (CLEORI_VERSION_MAJOR * 10000 + CLEORI_VERSION_MINOR * 100 + CLEORI_VERSION_PATCH)
#define CLEORI_VERSION_STRING "0.1.0"
