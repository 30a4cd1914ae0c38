#pragma once
/// @file
/// @brief Everything for batteries behind Modbus TCP: the asynchronous client
/// (`cleori::modbus::client`), register maps loaded from JSON
/// (`cleori::modbus::parse_register_map`) and the `BatteryDevice` that joins
/// them (`cleori::modbus_battery`). Not part of `cleori/cleori.hpp`: a site
/// that drives its batteries another way does not compile it. See doc/devices.md.

#include <cleori/modbus/client.hpp>
#include <cleori/modbus/error.hpp>
#include <cleori/modbus/modbus_battery.hpp>
#include <cleori/modbus/register_map.hpp>
