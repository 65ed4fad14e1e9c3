// drop_tree_fuzzer — a drop channel whose directories hold whatever other
// programs put there: files under any names (in incoming/, new/, work/,
// retry/, failed/, state/meta/, state/keys/...), symlinks, FIFOs, sockets,
// devices, directories and hard links; header and reason files of any text.
//
// Each input makes a fresh channel, drops its entries into it, then runs a
// consumer over it (scans, claims, reads, maps, acks, nacks, rejects,
// extends) and the channel's dead-letter administration (list, load,
// requeue, purge). Beyond "no crash, no undefined behaviour, no hang", a
// "victim" directory beside the channel, which symlinks and hard links in
// the channel point to, must be left exactly as it was: nothing outside the
// tree is ever followed, written or removed.
//
// Input:
//   byte 0   options: bit 0 marker completion (else settle, settle time 0),
//            bit 1 a lease of 1 ms (else 30 s), bit 2 archive, bits 3-4
//            max_attempts - 1, bit 5 no retry backoff, bit 6 durable
//   byte 1   number of entries (mod 13)
//   entries  one byte (bits 0-3 the directory, bits 4-7 the kind: see
//            Kind), the name up to a 0 byte (any bytes; '/' becomes '_'),
//            a length byte and that many bytes of content
//   rest     the consumer's actions, one byte each (see act())
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"

using namespace ringdrop;
using namespace ringdrop::fuzz;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDirs[] = {"incoming", "tmp", "new", "work", "retry", "done", "failed",
                                 "state", "state/meta", "state/keys", "", "incoming", "new",
                                 "failed", "incoming", "state/meta"};

enum Kind : uint8_t {
  kFile,           // a regular file with the content
  kFile2,
  kIdFile,         // a regular file named "<19 digits>-<name>.<n>" (an id's shape)
  kSymlinkVictim,  // a symlink to the victim file (absolute path)
  kSymlinkDir,     // a symlink to the victim directory (relative path)
  kSymlinkDangling,
  kFifo,
  kSocket,
  kDevice,         // /dev/null's numbers (only as root)
  kDirectory,      // a directory holding a file and a symlink to the victim
  kHardLink,       // a hard link to the victim file
  kMarker,         // the name with the marker suffix ".done"
  kHeaders,        // state/meta/<the last id-shaped name's id>: the content
  kReason,         // failed/<the last id>.reason: the content
  kEmpty,
  kLongName,       // the name repeated up to 255 bytes
};

constexpr std::string_view kVictimText = "the victim file: nothing may change it\n";

struct Scene {
  fs::path root = scratch_dir() / "channel";
  fs::path victim = scratch_dir() / "victim";
  std::string last_id = "0000000000000000001-x";
};

std::string clean_name(std::string_view raw) {
  std::string n(raw.substr(0, 200));
  for (char& ch : n) {
    if (ch == '/') ch = '_';
  }
  if (n.empty() || n == "." || n == "..") n = "e" + n;
  return n;
}

/// A new file (never through an existing name: it may be a hard link to
/// the victim).
void write_file(const fs::path& p, std::string_view content) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0) return;  // the name exists already: fine
  (void)!::write(fd, content.data(), content.size());
  ::close(fd);
}

void place(Scene& s, Bytes& in) {
  const uint8_t what = in.u8();
  const std::string name = clean_name(in.until(0));
  const auto raw = in.take(in.u8());
  const std::string_view content(reinterpret_cast<const char*>(raw.data()), raw.size());
  const fs::path dir = s.root / kDirs[what & 0xf];
  const fs::path at = dir / name;
  switch (static_cast<Kind>(what >> 4)) {
    case kFile:
    case kFile2: write_file(at, content); break;
    case kIdFile: {
      std::string id = "1700000000000000000-" + std::string(name.substr(0, 40));
      for (char& ch : id) {
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || ch == '-')) ch = '-';
      }
      s.last_id = id;
      write_file(dir / (id + "." + std::to_string(content.size() % 4)), content);
      break;
    }
    case kSymlinkVictim: (void)!::symlink((s.victim / "file").c_str(), at.c_str()); break;
    case kSymlinkDir: (void)!::symlink("../../victim", at.c_str()); break;
    case kSymlinkDangling: (void)!::symlink("nowhere", at.c_str()); break;
    case kFifo: (void)::mkfifo(at.c_str(), 0644); break;
    case kSocket: (void)::mknod(at.c_str(), S_IFSOCK | 0644, 0); break;
    case kDevice: (void)::mknod(at.c_str(), S_IFCHR | 0644, makedev(1, 3)); break;
    case kDirectory:
      if (::mkdir(at.c_str(), 0755) == 0) {
        write_file(at / "inside", content);
        (void)!::symlink((s.victim / "file").c_str(), (at / "link").c_str());
      }
      break;
    case kHardLink: (void)::link((s.victim / "file").c_str(), at.c_str()); break;
    case kMarker: write_file(dir / (name + ".done"), content); break;
    case kHeaders: write_file(s.root / "state/meta" / s.last_id, content); break;
    case kReason: write_file(s.root / "failed" / (s.last_id + ".reason"), content); break;
    case kEmpty: write_file(at, ""); break;
    case kLongName: {
      std::string longer;
      while (longer.size() + name.size() <= 255) longer += name;
      write_file(dir / longer, content);
      break;
    }
  }
}

void act(DropChannel& ch, DropConsumer& rx, std::optional<DropClaim>& claim, uint8_t a) {
  switch (a & 0xf) {
    case 0:
    case 1:
    case 2: {
      auto got = rx.try_claim();
      if (got) claim.emplace(std::move(*got));
      break;
    }
    case 3: (void)rx.scan(); break;
    case 4:
      if (claim) {
        auto bytes = claim->read();
        if (bytes) FUZZ_CHECK(bytes->size() == claim->size(), "a claim read other than its size");
      }
      break;
    case 5:
      if (claim) {
        auto m = claim->map();
        if (m) FUZZ_CHECK(m->bytes().size() == claim->size(), "a claim mapped other than its size");
      }
      break;
    case 6:
      if (claim) (void)claim->ack();
      break;
    case 7:
      if (claim) (void)claim->nack("fuzz: nack");
      break;
    case 8:
      if (claim) (void)claim->reject("fuzz: reject\nwith a line break");
      break;
    case 9:
      if (claim) (void)claim->extend(std::chrono::milliseconds(a >> 4));
      break;
    case 10: claim.reset(); break;  // abandoned: nacked by the destructor
    case 11: {
      auto letters = ch.dead_letters();
      if (letters && !letters->empty()) {
        const auto& d = (*letters)[(a >> 4) % letters->size()];
        (void)ch.dead_letter(d.id);
        if (a & 0x10) {
          (void)ch.requeue(d.id);
        } else {
          (void)ch.purge(d.id);
        }
      }
      break;
    }
    case 12: (void)ch.purge_dead_letters(0s); break;
    case 13: (void)ch.counts(); break;
    case 14: (void)rx.stats(); break;
    default:
      if (claim) {
        (void)claim->path();
        (void)claim->headers();
        (void)claim->attempt();
      }
      break;
  }
}

std::string victim_state(const Scene& s) {
  struct stat st{};
  if (::lstat(s.victim.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "the victim directory is gone";
  const fs::path f = s.victim / "file";
  if (::lstat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "the victim file is gone";
  const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
  std::string text(256, '\0');
  const ssize_t n = fd >= 0 ? ::read(fd, text.data(), text.size()) : -1;
  if (fd >= 0) ::close(fd);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (text != kVictimText) return "the victim file was written";
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(s.victim)) {
    (void)e;
    ++entries;
  }
  if (entries != 1) return "something was created in the victim directory";
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Bytes in(data, size);
  Scene s;
  std::error_code ec;
  fs::remove_all(s.root, ec);
  fs::remove_all(s.victim, ec);
  fs::create_directories(s.victim);
  write_file(s.victim / "file", kVictimText);

  const uint8_t o = in.u8();
  DropOptions options;
  options.ingest.completion = (o & 1) ? Completion::marker : Completion::settle;
  options.ingest.settle_time = 0ms;
  options.lease = (o & 2) ? 1ms : 30s;
  options.archive = o & 4;
  options.max_attempts = 1 + ((o >> 3) & 3);
  options.retry_backoff = (o & 0x20) ? 0ms : 1000ms;
  options.durable = o & 0x40;
  options.discovery = Discovery::polling;
  {
    auto ch = DropChannel::open(s.root.string(), options);
    FUZZ_CHECK(ch.ok(), "cannot create the channel (harness)");
    const unsigned entries = in.u8() % 13;
    for (unsigned i = 0; i < entries && !in.empty(); ++i) place(s, in);

    auto rx = DropConsumer::open(*ch);
    FUZZ_CHECK(rx.ok(), "cannot open a consumer (harness)");
    std::optional<DropClaim> claim;
    int steps = 0;
    while (!in.empty() && steps++ < 64) act(*ch, *rx, claim, in.u8());
    for (int i = 0; i < 4; ++i) {  // and whatever is left: claim and settle it
      auto got = rx->try_claim();
      if (!got) break;
      (void)got->read();
      (void)got->ack();
    }
    claim.reset();
    (void)ch->dead_letters();
  }
  const std::string broken = victim_state(s);
  FUZZ_CHECK(broken.empty(), broken.c_str());
  fs::remove_all(s.root, ec);
  return 0;
}
