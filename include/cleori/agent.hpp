#pragma once
/// @file
/// @brief `cleori::agent<Device>` — the ready-made configuration of
/// `basic_agent`: Beast transport (HTTP/1.1 + TLS), real clocks, the default
/// retry strategy (backoff with full jitter inside a retry budget), API v1
/// (`default_policies`); and `cleori::api_client`, the client alone.
///
/// @code
/// cleori::beast_transport transport{io.get_executor(), "https://cleori.example"};
/// cleori::agent<my_battery> agent{battery, transport, {.token = token}};
///
/// // The same with a journal: unsent telemetry, activations and owed
/// // confirmations survive a crash (doc/concepts/Store.md).
/// cleori::durable_agent<my_battery> agent{battery, transport, {.token = token},
///                                         cleori::file_store::open(path).value()};
/// @endcode

#include <cleori/engine/agent.hpp>
#include <cleori/store/file_store.hpp>
#include <cleori/transport/beast_transport.hpp>

namespace cleori {

/// @tparam Device a `BatteryDevice`
template <class Device>
using agent = basic_agent<Device, beast_transport>;

/// @brief `agent` keeping its state in a `file_store` journal.
/// @tparam Device a `BatteryDevice`
template <class Device>
using durable_agent = basic_agent<Device, beast_transport, durable_policies>;

/// @brief The API client over the Beast transport with the default policies.
using api_client = basic_api_client<beast_transport>;

} // namespace cleori
