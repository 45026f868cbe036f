#include "storage/disk_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace understudy::storage {
namespace {

// Reversed Castagnoli polynomial.
constexpr uint32_t kCrc32cPolynomial = 0x82F63B78u;

using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

// Slicing-by-8 tables, computed at compile time: table[k][b] is the CRC
// contribution of byte b followed by k zero bytes, so eight input bytes
// are folded with eight lookups instead of eight dependent steps.
constexpr CrcTables MakeCrcTables() {
  CrcTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kCrc32cPolynomial : 0);
    t[0][b] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}

constexpr CrcTables kCrcTables = MakeCrcTables();

uint32_t Crc32cTable(const uint8_t* p, size_t n, uint32_t crc) {
  while (n >= 8) {
    uint64_t word = 0;
    for (int i = 0; i < 8; ++i) word |= static_cast<uint64_t>(p[i]) << (8 * i);
    word ^= crc;
    crc = kCrcTables[7][word & 0xff] ^ kCrcTables[6][(word >> 8) & 0xff] ^
          kCrcTables[5][(word >> 16) & 0xff] ^ kCrcTables[4][(word >> 24) & 0xff] ^
          kCrcTables[3][(word >> 32) & 0xff] ^ kCrcTables[2][(word >> 40) & 0xff] ^
          kCrcTables[1][(word >> 48) & 0xff] ^ kCrcTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kCrcTables[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const uint8_t* p, size_t n,
                                                          uint32_t crc) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // x86 is little-endian, as the CRC wants
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool CpuHasCrc32Instruction() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  uint32_t state = ~crc;
#if defined(__x86_64__)
  if (CpuHasCrc32Instruction()) return ~Crc32cHardware(p, data.size(), state);
#endif
  return ~Crc32cTable(p, data.size(), state);
}

uint32_t Crc32cPortable(std::string_view data, uint32_t crc) {
  return ~Crc32cTable(reinterpret_cast<const uint8_t*>(data.data()), data.size(), ~crc);
}

bool ByteReader::ReadU8(uint8_t* v) {
  if (remaining() < 1) return false;
  *v = static_cast<uint8_t>(ReadLittleEndian(1));
  return true;
}

bool ByteReader::ReadU16(uint16_t* v) {
  if (remaining() < 2) return false;
  *v = static_cast<uint16_t>(ReadLittleEndian(2));
  return true;
}

bool ByteReader::ReadU32(uint32_t* v) {
  if (remaining() < 4) return false;
  *v = static_cast<uint32_t>(ReadLittleEndian(4));
  return true;
}

bool ByteReader::ReadU64(uint64_t* v) {
  if (remaining() < 8) return false;
  *v = ReadLittleEndian(8);
  return true;
}

bool ByteReader::ReadI64(int64_t* v) {
  uint64_t u;
  if (!ReadU64(&u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

bool ByteReader::ReadDouble(double* v) {
  uint64_t bits;
  if (!ReadU64(&bits)) return false;
  std::memcpy(v, &bits, sizeof(bits));
  return true;
}

bool ByteReader::ReadBytes(size_t n, std::string_view* v) {
  if (remaining() < n) return false;
  *v = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool ByteReader::ReadStringView(std::string_view* v) {
  uint32_t length;
  if (!ReadU32(&length)) return false;
  return ReadBytes(length, v);
}

bool ByteReader::ReadString(std::string* v) {
  std::string_view view;
  if (!ReadStringView(&view)) return false;
  v->assign(view);
  return true;
}

std::string ErrnoMessage(std::string_view what, const std::string& path, int err) {
  std::string message(what);
  message += ' ';
  message += path;
  message += ": ";
  message += std::strerror(err);
  return message;
}

bool WriteAll(int fd, std::string_view data, int* err) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ReadWholeFile(const std::string& path, std::string* out, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = ErrnoMessage("cannot open", path, errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    *error = ErrnoMessage("cannot stat", path, errno);
    ::close(fd);
    return false;
  }
  out->clear();
  out->reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = ErrnoMessage("cannot read", path, errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

bool FsyncParentDirectory(const std::string& path, std::string* error) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *error = ErrnoMessage("cannot open directory", dir, errno);
    return false;
  }
  bool ok = ::fsync(fd) == 0;
  if (!ok) *error = ErrnoMessage("cannot fsync directory", dir, errno);
  ::close(fd);
  return ok;
}

bool WriteFileAtomically(const std::string& path, std::string_view bytes, std::string* error) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = ErrnoMessage("cannot create", tmp, errno);
    return false;
  }
  int err = 0;
  bool ok = WriteAll(fd, bytes, &err);
  if (!ok) {
    *error = ErrnoMessage("cannot write", tmp, err);
  } else if (::fsync(fd) != 0) {
    ok = false;
    *error = ErrnoMessage("cannot fsync", tmp, errno);
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    *error = ErrnoMessage("cannot close", tmp, errno);
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    *error = ErrnoMessage("cannot rename " + tmp + " to", path, errno);
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return false;
  }
  return FsyncParentDirectory(path, error);
}

}  // namespace understudy::storage
