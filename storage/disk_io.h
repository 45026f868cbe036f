#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// Primitives shared by the on-disk formats (outage journal, snapshot):
// CRC32C, fixed-width little-endian encoding, a bounds-checked reader for
// untrusted bytes, and the few file operations that durability needs.
namespace understudy::storage {

// CRC-32C (Castagnoli, the iSCSI/ext4 polynomial) of `data`, continuing
// from `crc`, the CRC of the bytes before it (0 for none):
// Crc32c(b, Crc32c(a)) == Crc32c(a + b). Uses the SSE4.2 instruction when
// the CPU has it, a table otherwise; both give the same result.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);
// The table-driven implementation alone (what CPUs without SSE4.2 run);
// exposed so tests check it on machines that have the instruction.
uint32_t Crc32cPortable(std::string_view data, uint32_t crc = 0);

// Appends `v` to *out in little-endian byte order, whatever the host order.
inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutU16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(b, 2);
}
inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
inline void PutI64(std::string* out, int64_t v) { PutU64(out, static_cast<uint64_t>(v)); }
// The 8 bytes of the IEEE double, so a score reloads bit for bit (-0, inf,
// subnormals included).
inline void PutDouble(std::string* out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  PutU64(out, bits);
}
// A u32 byte count followed by the bytes. Precondition: s.size() < 2^32.
inline void PutString(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Overwrites 4 bytes at `pos` of *out with `v` little-endian (for a length
// or checksum known only after the bytes it covers were appended).
inline void StoreU32At(std::string* out, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*out)[pos + i] = static_cast<char>(v >> (8 * i));
}

// Reads little-endian values from a byte range it does not own. Every read
// checks the remaining length first and returns false instead of reading
// past the end, so any input, however malformed, is safe to feed it.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  bool ReadU8(uint8_t* v);
  bool ReadU16(uint16_t* v);
  bool ReadU32(uint32_t* v);
  bool ReadU64(uint64_t* v);
  bool ReadI64(int64_t* v);
  bool ReadDouble(double* v);
  // `n` bytes viewed in place.
  bool ReadBytes(size_t n, std::string_view* v);
  // A string written by PutString, viewed in place.
  bool ReadStringView(std::string_view* v);
  bool ReadString(std::string* v);

 private:
  uint64_t ReadLittleEndian(size_t width) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += width;
    return v;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// "<what> <path>: <strerror(err)>", the error text of a failed system call.
std::string ErrnoMessage(std::string_view what, const std::string& path, int err);

// write(2) until every byte of `data` is written (retrying on EINTR and
// partial writes). On failure returns false with errno in *err; some
// prefix of `data` may then have reached the file.
bool WriteAll(int fd, std::string_view data, int* err);

// Reads the whole file into *out.
bool ReadWholeFile(const std::string& path, std::string* out, std::string* error);

// fsyncs the directory holding `path`, so that a file created or renamed
// there survives a crash (the new directory entry is itself data).
bool FsyncParentDirectory(const std::string& path, std::string* error);

// Writes `bytes` to `path` so that after a crash the file holds either its
// old contents or all of `bytes`, never a mix: write to "<path>.tmp",
// fsync, rename over `path`, fsync the directory. Safe to call from any
// thread (it touches no shared state).
bool WriteFileAtomically(const std::string& path, std::string_view bytes, std::string* error);

}  // namespace understudy::storage
