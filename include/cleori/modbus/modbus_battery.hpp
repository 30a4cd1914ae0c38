#pragma once
/// @file
/// @brief `cleori::modbus_battery` — a `BatteryDevice` driven over Modbus TCP
/// through a register map: reads measured power and SoC, writes the setpoint,
/// keeps the PCS watchdog fed, and refuses setpoints while the status register
/// reports a fault, with the device's own words as the reason (baseline, 0 kW,
/// is always written).
///
/// @code
/// boost::asio::io_context io;
/// std::string why;
/// auto map = cleori::modbus::load_register_map("maps/sunspec_storage.json", &why);
/// if (!map) { std::cerr << why << '\n'; return 2; }
/// cleori::modbus::client plc{io.get_executor(), "192.168.1.20", "502"};
/// cleori::modbus_battery battery{plc, *map, ratings};        // ratings: battery_ratings from configuration
/// cleori::agent<cleori::modbus_battery> agent{battery, transport, config};
/// @endcode
///
/// Ratings come from configuration (a Modbus map says where values are, not
/// what the plant can do); `agent::start()` checks them against the mFRR
/// minimum at run time. Several batteries may share one `client` (a gateway),
/// each with its own unit id. The client and the battery must outlive the
/// agent's work on the executor; destroying the battery stops its heartbeat.
///
/// What a read does: the points' registers are read in as few requests as
/// their addresses allow (neighbours of one kind within 16 registers share a
/// request), scale factors included. A point that reads as "not implemented"
/// (0x8000 on s16, NaN on f32) is left out of the reading; if both power and
/// SoC are, the read fails. What a setpoint does: read the status (if the map
/// has one) and refuse on a fault; write the enable point once per
/// connection; read the setpoint's scale factor (if any); write the value —
/// unless a newer setpoint started meanwhile, in which case this one completes
/// with `operation_aborted` and writes nothing, so an older value never lands
/// after a newer one. The heartbeat is written only while the device is used
/// (a reading or a setpoint within max(30 s, 3 periods)): a controller that
/// stopped driving the battery lets the PCS watchdog trip.
/// See doc/devices.md.

#include <cleori/device/battery_device.hpp>
#include <cleori/device/ratings.hpp>
#include <cleori/modbus/client.hpp>
#include <cleori/modbus/error.hpp>
#include <cleori/modbus/register_map.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cleori {

/// @brief What a Modbus battery has done since it was made.
struct modbus_battery_stats {
    std::uint64_t reads = 0;              ///< readings completed
    std::uint64_t read_failures = 0;      ///< readings that failed
    std::uint64_t setpoints = 0;          ///< setpoints written
    std::uint64_t setpoint_failures = 0;  ///< setpoints refused or failed (faults included)
    std::uint64_t heartbeats = 0;         ///< heartbeat writes that succeeded
    std::uint64_t heartbeat_failures = 0; ///< heartbeat writes that failed
    std::uint64_t heartbeats_withheld = 0; ///< beats skipped because nothing used the device for 30 s
};

/// @brief A battery behind a Modbus TCP PCS/BMS, described by a register map.
class modbus_battery {
public:
    /// @param plc the connection (shared with other devices behind the same gateway)
    /// @param map where the points are; its `unit_id` selects the device
    /// @param ratings the plant's ratings, from configuration
    modbus_battery(modbus::client& plc, modbus::register_map map, battery_ratings ratings)
        : s_(std::make_shared<state>(plc, std::move(map), ratings)) {
        if (s_->map.heartbeat) state::beat(s_);
    }
    modbus_battery(modbus_battery const&) = delete;
    modbus_battery& operator=(modbus_battery const&) = delete;
    ~modbus_battery() {
        s_->stopped = true;
        s_->timer.cancel();
    }

    /// @brief The ratings given at construction.
    [[nodiscard]] battery_ratings ratings() const noexcept { return s_->ratings; }

    /// @brief Reads power (kW, + charge) and SoC (%); see the file comment.
    template <class Handler>
    void async_read_state(Handler&& handler) {
        state::read_state(s_, std::function<void(boost::system::error_code, battery_state)>(std::forward<Handler>(handler)));
    }

    /// @brief Writes `p` (+ charge, − discharge) as the map's setpoint.
    template <class Handler>
    void async_apply_setpoint(kilowatts p, Handler&& handler) {
        state::apply(s_, p, std::function<void(boost::system::error_code)>(std::forward<Handler>(handler)));
    }

    /// @brief The fault the status register reported at the last reading or
    /// setpoint, if any.
    [[nodiscard]] std::optional<std::string> const& fault() const noexcept { return s_->fault; }
    [[nodiscard]] modbus_battery_stats const& stats() const noexcept { return s_->stats; }
    /// @brief The map with SunSpec points resolved to addresses (after the first operation).
    [[nodiscard]] modbus::register_map const& map() const noexcept { return s_->map; }

private:
    using done = std::function<void(boost::system::error_code)>;

    struct block {
        modbus::register_kind kind;
        std::uint16_t address;
        std::uint16_t count;
        modbus::register_block data{};
    };

    struct state : std::enable_shared_from_this<state> {
        state(modbus::client& c, modbus::register_map m, battery_ratings r)
            : plc(c.ref()), map(std::move(m)), ratings(r), timer(c.get_executor()), resolved(!map.uses_sunspec()) {
            if (resolved) plan();
        }

        modbus::client_ref plc; // a client destroyed first aborts what we start, never crashes
        modbus::register_map map;
        battery_ratings ratings;
        boost::asio::steady_timer timer;
        bool resolved;
        bool stopped = false;
        std::optional<std::uint64_t> enabled_on{}; // connection generation the enable point was written on
        std::uint64_t apply_seq = 0;               // the newest setpoint; an older one must not write after it
        std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
        std::uint16_t beat_count = 0;
        std::optional<std::string> fault{};
        modbus_battery_stats stats{};
        std::vector<block> reading{}; // the requests a reading makes

        std::uint8_t unit() const noexcept { return map.unit_id; }
        static boost::system::error_code aborted() { return make_error_code(boost::asio::error::operation_aborted); }

        // --- SunSpec discovery ------------------------------------------------

        static void resolve(std::shared_ptr<state> const& s, done next) {
            if (s->resolved) return next({});
            find_marker(s, 0, std::move(next));
        }

        using model_table = std::map<std::uint16_t, std::pair<std::uint16_t, std::uint16_t>>; // id → (address, length)

        static void find_marker(std::shared_ptr<state> const& s, std::size_t i, done next) {
            if (s->stopped) return next(aborted());
            if (i >= s->map.sunspec_bases.size()) return next(modbus::errc::sunspec_not_found);
            std::uint16_t const base = s->map.sunspec_bases[i];
            s->plc.async_read_holding_registers(
                s->unit(), base, 2, [s, i, base, next = std::move(next)](boost::system::error_code ec, modbus::register_block b) mutable {
                    if (!ec && b[0] == 0x5375 && b[1] == 0x6e53) {
                        return walk(s, static_cast<std::uint32_t>(base) + 2, std::make_shared<model_table>(), 0,
                                    std::move(next));
                    }
                    // An exception (no such register) or another marker: try the next base.
                    if (ec && ec.category() != modbus::modbus_category()) return next(ec);
                    if (ec && ec.value() >= 256) return next(ec); // the client's own: timeout, closed …
                    find_marker(s, i + 1, std::move(next));
                });
        }

        static void walk(std::shared_ptr<state> const& s, std::uint32_t at, std::shared_ptr<model_table> models, int n, done next) {
            if (s->stopped) return next(aborted());
            if (at + 2 > 0x10000u || n > 256) return next(modbus::errc::sunspec_bad_chain);
            s->plc.async_read_holding_registers(
                s->unit(), static_cast<std::uint16_t>(at), 2,
                [s, at, models, n, next = std::move(next)](boost::system::error_code ec, modbus::register_block b) mutable {
                    if (ec) return next(ec);
                    if (b[0] == 0xffff) return s->place(*models, std::move(next));
                    models->emplace(b[0], std::pair{static_cast<std::uint16_t>(at), b[1]});
                    walk(s, at + 2u + b[1], std::move(models), n + 1, std::move(next));
                });
        }

        void place(model_table const& models, done next) {
            std::string problem;
            auto fix = [&](modbus::register_address& a, std::string const& who, std::uint16_t width) {
                if (a.address || !problem.empty()) return;
                auto it = models.find(a.model);
                if (it == models.end()) {
                    problem = "SunSpec model " + std::to_string(a.model) + " (point '" + who + "') is not on unit " +
                              std::to_string(unit()) + "; the device offers models";
                    for (auto const& [id, where] : models) problem += " " + std::to_string(id);
                    return;
                }
                if (a.offset + width > it->second.second + 2u) {
                    problem = "point '" + who + "': offset " + std::to_string(a.offset) + " lies beyond SunSpec model " +
                              std::to_string(a.model) + " (length " + std::to_string(it->second.second) + ")";
                    return;
                }
                a.address = static_cast<std::uint16_t>(it->second.first + a.offset);
            };
            auto fix_point = [&](modbus::point& p) {
                fix(p.where, p.name, modbus::register_count(p.type));
                if (p.scale_factor) fix(*p.scale_factor, p.name + ".scale_factor", 1);
            };
            fix_point(map.power);
            fix_point(map.soc);
            fix_point(map.setpoint);
            if (map.heartbeat) fix_point(map.heartbeat->where);
            if (map.enable) fix_point(map.enable->where);
            if (map.status) fix_point(map.status->where);
            if (!problem.empty()) return next(modbus::make_device_error(problem));
            resolved = true;
            plan();
            next({});
        }

        // --- reading ---------------------------------------------------------

        // Groups the registers a reading needs into few requests.
        void plan() {
            struct span {
                modbus::register_kind kind;
                std::uint32_t from, to; // [from, to)
            };
            std::vector<span> need;
            auto add = [&](modbus::point const& p) {
                std::uint32_t const at = *p.where.address;
                need.push_back({p.kind, at, at + modbus::register_count(p.type)});
                // SunSpec scale factors sit in the same table as their point.
                if (p.scale_factor) need.push_back({p.kind, *p.scale_factor->address, *p.scale_factor->address + 1u});
            };
            add(map.power);
            add(map.soc);
            if (map.status) add(map.status->where);
            std::sort(need.begin(), need.end(), [](span const& a, span const& b) {
                return a.kind != b.kind ? a.kind < b.kind : a.from < b.from;
            });
            reading.clear();
            for (auto const& n : need) {
                if (!reading.empty()) {
                    auto& last = reading.back();
                    std::uint32_t const end = last.address + last.count;
                    if (last.kind == n.kind && n.from <= end + 16 && std::max(end, n.to) - last.address <= modbus::register_block::capacity) {
                        last.count = static_cast<std::uint16_t>(std::max(end, n.to) - last.address);
                        continue;
                    }
                }
                reading.push_back({n.kind, static_cast<std::uint16_t>(n.from), static_cast<std::uint16_t>(n.to - n.from)});
            }
        }

        // The words at `address` of `kind` from the blocks read.
        static std::span<std::uint16_t const> words(std::vector<block> const& blocks, modbus::register_kind kind,
                                                    std::uint16_t address, std::uint16_t count) {
            for (auto const& b : blocks)
                if (b.kind == kind && address >= b.address && address + count <= b.address + b.data.count)
                    return b.data.span().subspan(address - b.address, count);
            return {};
        }

        // The engineering value of `p` (sign not applied).
        static result<double> value(std::vector<block> const& blocks, modbus::point const& p) {
            auto raw = modbus::decode(p, words(blocks, p.kind, *p.where.address, modbus::register_count(p.type)));
            if (!raw) return raw.error();
            std::int16_t sf = 0;
            if (p.scale_factor) {
                auto w = words(blocks, p.kind, *p.scale_factor->address, 1);
                if (w.empty()) return make_error_code(modbus::errc::unexpected_response);
                if (w[0] == 0x8000) return make_error_code(modbus::errc::value_not_implemented);
                sf = static_cast<std::int16_t>(w[0]);
                if (sf < -10 || sf > 10) return make_error_code(modbus::errc::value_out_of_range);
            }
            return *raw * modbus::factor(p, sf);
        }

        static void read_blocks(std::shared_ptr<state> const& s, std::shared_ptr<std::vector<block>> out, std::size_t i,
                                done next) {
            if (s->stopped) return next(aborted());
            if (i >= out->size()) return next({});
            auto const& b = (*out)[i];
            s->plc.async_read(b.kind, s->unit(), b.address, b.count,
                               [s, out, i, next = std::move(next)](boost::system::error_code ec, modbus::register_block data) mutable {
                                   if (ec) return next(ec);
                                   (*out)[i].data = data;
                                   read_blocks(s, std::move(out), i + 1, std::move(next));
                               });
        }

        // Reads the status and records a fault; calls next(fault or error).
        void note_status(std::vector<block> const& blocks, boost::system::error_code& ec) {
            if (!map.status) return;
            auto const& p = map.status->where;
            auto w = words(blocks, p.kind, *p.where.address, modbus::register_count(p.type));
            auto raw = modbus::decode(p, w);
            if (!raw) {
                ec = raw.error();
                return;
            }
            fault = map.status->fault(static_cast<std::uint32_t>(*raw));
            if (fault) {
                // A PCS that faulted may have dropped its enable (SunSpec 704
                // WSetEna): write it again once the fault clears.
                enabled_on.reset();
                ec = modbus::make_device_error(*fault);
            }
        }

        double to_cleori(double kw) const noexcept { return map.sign == modbus::sign_convention::export_positive ? -kw : kw; }

        static void read_state(std::shared_ptr<state> const& s, std::function<void(boost::system::error_code, battery_state)> h) {
            s->last_used = std::chrono::steady_clock::now();
            resolve(s, [s, h = std::move(h)](boost::system::error_code ec) mutable {
                if (ec) return s->read_failed(h, ec);
                auto blocks = std::make_shared<std::vector<block>>(s->reading);
                read_blocks(s, blocks, 0, [s, blocks, h = std::move(h)](boost::system::error_code ec2) mutable {
                    if (ec2) return s->read_failed(h, ec2);
                    battery_state st{};
                    auto const power = value(*blocks, s->map.power);
                    auto const soc = value(*blocks, s->map.soc);
                    if (power) st.power = kilowatts{s->to_cleori(*power)};
                    if (soc) st.soc = percent{*soc};
                    boost::system::error_code status;
                    s->note_status(*blocks, status); // a fault does not spoil the measurements
                    if (!st.power && !st.soc) return s->read_failed(h, power ? soc.error() : power.error());
                    ++s->stats.reads;
                    h({}, st);
                });
            });
        }

        void read_failed(std::function<void(boost::system::error_code, battery_state)>& h, boost::system::error_code ec) {
            ++stats.read_failures;
            h(ec, battery_state{});
        }

        // --- setpoint --------------------------------------------------------

        static void apply(std::shared_ptr<state> const& s, kilowatts p, done h) {
            s->last_used = std::chrono::steady_clock::now();
            auto fail = [s](done& f, boost::system::error_code ec) {
                ++s->stats.setpoint_failures;
                f(ec);
            };
            auto const seq = ++s->apply_seq;
            resolve(s, [s, p, seq, h = std::move(h), fail](boost::system::error_code ec) mutable {
                if (ec) return fail(h, ec);
                // Baseline (0 kW) is written whatever the status says: it is
                // always safe, and refusing it would fail the agent's stop.
                check_status(s, p == kilowatts{0.0}, [s, p, seq, h = std::move(h), fail](boost::system::error_code ec2) mutable {
                    if (ec2) return fail(h, ec2);
                    enable(s, [s, p, seq, h = std::move(h), fail](boost::system::error_code ec3) mutable {
                        if (ec3) return fail(h, ec3);
                        write_setpoint(s, p, seq, [s, h = std::move(h), fail](boost::system::error_code ec4) mutable {
                            if (ec4) return fail(h, ec4);
                            ++s->stats.setpoints;
                            h({});
                        });
                    });
                });
            });
        }

        static void check_status(std::shared_ptr<state> const& s, bool baseline, done next) {
            if (s->stopped) return next(aborted());
            if (!s->map.status || baseline) return next({});
            auto const& p = s->map.status->where;
            auto blocks = std::make_shared<std::vector<block>>(
                std::vector<block>{{p.kind, *p.where.address, modbus::register_count(p.type)}});
            read_blocks(s, blocks, 0, [s, blocks, next = std::move(next)](boost::system::error_code ec) mutable {
                if (!ec) s->note_status(*blocks, ec);
                next(ec);
            });
        }

        static void enable(std::shared_ptr<state> const& s, done next) {
            if (s->stopped) return next(aborted());
            if (!s->map.enable || s->enabled_on == s->plc.connection_generation()) return next({});
            auto const& e = *s->map.enable;
            s->plc.async_write_single_register(s->unit(), *e.where.where.address, e.value,
                                                [s, next = std::move(next)](boost::system::error_code ec) mutable {
                                                    if (!ec) s->enabled_on = s->plc.connection_generation();
                                                    next(ec);
                                                });
        }

        static void write_setpoint(std::shared_ptr<state> const& s, kilowatts p, std::uint64_t seq, done next) {
            auto const& pt = s->map.setpoint;
            if (!pt.scale_factor) return write_scaled(s, p, seq, 0, std::move(next));
            s->plc.async_read(pt.kind, s->unit(), *pt.scale_factor->address, 1,
                               [s, p, seq, next = std::move(next)](boost::system::error_code ec, modbus::register_block b) mutable {
                                   if (ec) return next(ec);
                                   if (b[0] == 0x8000) return next(modbus::errc::value_not_implemented);
                                   auto const sf = static_cast<std::int16_t>(b[0]);
                                   if (sf < -10 || sf > 10) return next(modbus::errc::value_out_of_range);
                                   write_scaled(s, p, seq, sf, std::move(next));
                               });
        }

        static void write_scaled(std::shared_ptr<state> const& s, kilowatts p, std::uint64_t seq, std::int16_t sf, done next) {
            // A newer setpoint started while this one read the status or a
            // scale factor: writing now would overwrite it with an older
            // value. The client sends in order, so checking here is enough.
            if (s->stopped || seq != s->apply_seq) return next(aborted());
            auto const& pt = s->map.setpoint;
            auto enc = modbus::encode(pt, s->to_cleori(p.in_kw()) / modbus::factor(pt, sf));
            if (!enc) return next(enc.error());
            auto const [w, n] = *enc;
            if (n == 1)
                return s->plc.async_write_single_register(s->unit(), *pt.where.address, w[0], std::move(next));
            s->plc.async_write_multiple_registers(s->unit(), *pt.where.address, std::span<std::uint16_t const>(w.data(), n),
                                                   std::move(next));
        }

        // --- heartbeat -------------------------------------------------------

        static std::chrono::milliseconds idle_limit(state const& s) {
            return std::max(std::chrono::milliseconds(30000), 3 * s.map.heartbeat->period);
        }

        static void beat(std::shared_ptr<state> const& s) {
            s->timer.expires_after(s->map.heartbeat->period);
            s->timer.async_wait([w = std::weak_ptr<state>(s)](boost::system::error_code ec) {
                auto self = w.lock();
                if (ec || !self || self->stopped) return;
                // Fed only while the agent uses the device: if the controller
                // stops reading and commanding, the PCS watchdog must trip.
                if (std::chrono::steady_clock::now() - self->last_used > idle_limit(*self)) {
                    ++self->stats.heartbeats_withheld;
                    return beat(self);
                }
                resolve(self, [s = self](boost::system::error_code rec) {
                    if (s->stopped) return;
                    if (rec) {
                        ++s->stats.heartbeat_failures;
                        return beat(s);
                    }
                    auto const& hb = s->map.heartbeat->where;
                    s->beat_count = static_cast<std::uint16_t>((s->beat_count + 1) % (hb.type == modbus::value_type::s16 ? 32768 : 65536));
                    s->plc.async_write_single_register(s->unit(), *hb.where.address, s->beat_count,
                                                        [s](boost::system::error_code wec) {
                                                            if (wec) ++s->stats.heartbeat_failures;
                                                            else ++s->stats.heartbeats;
                                                            // Aborted: the client is closing.
                                                            if (!s->stopped && wec != boost::asio::error::operation_aborted) beat(s);
                                                        });
                });
            });
        }
    };

    std::shared_ptr<state> s_;
};

static_assert(BatteryDevice<modbus_battery>);

} // namespace cleori
