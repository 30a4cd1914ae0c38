#pragma once
/// @file
/// @brief The whole of cleori in one include.

#include <cleori/version.hpp>
#include <cleori/error.hpp>
#include <cleori/units/quantity.hpp>
#include <cleori/time/rfc3339.hpp>
#include <cleori/device/ratings.hpp>
#include <cleori/device/ratings_json.hpp>
#include <cleori/device/battery_device.hpp>
#include <cleori/api/field.hpp>
#include <cleori/api/activation.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/api/json.hpp>
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/transport/http.hpp>
#include <cleori/transport/url.hpp>
#include <cleori/transport/beast_transport.hpp>
#include <cleori/client/api_client.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/store/store.hpp>
#include <cleori/store/file_store.hpp>
#include <cleori/engine/outbox.hpp>
#include <cleori/engine/lifecycle.hpp>
#include <cleori/engine/agent.hpp>
#include <cleori/agent.hpp>
