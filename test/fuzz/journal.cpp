// libFuzzer target: a journal file as a crash, a full disk or a stray write
// may leave it. Opening it either fails with a named error or yields an
// image; a second open of what the first rewrote gives the same image.
#include <cleori/store/file_store.hpp>

#include "same.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>

#include <unistd.h>

namespace {
// One journal per process, removed (with its lock file) when the fuzzer exits.
struct scratch_journal {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("cleori-fuzz-journal-" + std::to_string(::getpid()));
    ~scratch_journal() {
        std::error_code ignored;
        for (auto const* suffix : {"", ".lock", ".tmp"})
            std::filesystem::remove(path.string() + suffix, ignored);
    }
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    static scratch_journal const scratch;
    auto const& path = scratch.path;
    {
        // The first byte picks how the rest becomes a journal: as it is; after
        // a valid magic; or as lines, each framed with a valid length and
        // checksum — so the fuzzer reaches the replay of record contents too.
        std::string_view rest(reinterpret_cast<char const*>(data), size);
        int const mode = size > 0 ? data[0] % 3 : 0;
        if (size > 0) rest.remove_prefix(1);
        std::string file;
        if (mode != 0) file = cleori::detail::journal_magic;
        if (mode == 2) {
            while (!rest.empty()) {
                auto const nl = rest.find('\n');
                cleori::detail::frame_journal_record(rest.substr(0, nl), file);
                rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
            }
        } else {
            file.append(rest);
        }
        std::ofstream(path, std::ios::binary | std::ios::trunc) << file;
    }
    cleori::store_image first;
    {
        auto store = cleori::file_store::open(path, {.sync = cleori::fsync_policy::never});
        if (!store) {
            if (store.error().message().empty()) std::abort();
            return 0;
        }
        first = store->load().value();
    }
    auto again = cleori::file_store::open(path, {.sync = cleori::fsync_policy::never});
    if (!again || again->recovery().discarded_bytes != 0) std::abort();
    auto const second = again->load().value();
    if (second.samples.size() != first.samples.size()) std::abort();
    for (std::size_t i = 0; i < first.samples.size(); ++i)
        if (second.samples[i].seq != first.samples[i].seq ||
            !cleori::fuzz::same(first.samples[i].sample, second.samples[i].sample))
            std::abort();
    if (second.confirmations.size() != first.confirmations.size()) std::abort();
    for (std::size_t i = 0; i < first.confirmations.size(); ++i)
        if (second.confirmations[i].id != first.confirmations[i].id ||
            !cleori::fuzz::same(first.confirmations[i].c, second.confirmations[i].c))
            std::abort();
    if (second.activations.size() != first.activations.size() || second.next_seq != first.next_seq) std::abort();
    for (std::size_t i = 0; i < first.activations.size(); ++i)
        if (!cleori::fuzz::same(first.activations[i], second.activations[i])) std::abort();
    return 0;
}
