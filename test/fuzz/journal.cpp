// libFuzzer target: a journal file as a crash, a full disk or a stray write
// may leave it. Opening it either fails with a named error or yields an
// image; a second open of what the first rewrote gives the same image.
#include <cleori/store/file_store.hpp>

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
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        // Half the inputs get a valid magic, so the fuzzer reaches the records.
        if (size > 0 && data[0] % 2 == 0) out << cleori::detail::journal_magic;
        out.write(reinterpret_cast<char const*>(data), static_cast<std::streamsize>(size));
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
    if (!(second.samples == first.samples) || !(second.confirmations == first.confirmations) ||
        second.activations.size() != first.activations.size() || second.next_seq != first.next_seq)
        std::abort();
    return 0;
}
