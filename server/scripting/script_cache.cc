#include "server/scripting/script_cache.h"

#include <openssl/sha.h>

#include <cctype>

namespace understudy::server {

std::string ScriptCache::Sha1Hex(std::string_view body) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * SHA_DIGEST_LENGTH, '0');
  for (size_t i = 0; i < SHA_DIGEST_LENGTH; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string ScriptCache::Remember(std::string_view body) {
  std::string sha = Sha1Hex(body);
  auto [it, added] = bodies_.try_emplace(sha);
  if (added) {
    it->second.assign(body);
    body_bytes_ += body.size();
  }
  return sha;
}

const std::string* ScriptCache::BodyOf(std::string_view sha) const {
  if (sha.size() != 2 * SHA_DIGEST_LENGTH) return nullptr;
  char lower[2 * SHA_DIGEST_LENGTH];
  for (size_t i = 0; i < sha.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(sha[i])));
  }
  auto it = bodies_.find(std::string(lower, sizeof(lower)));
  return it == bodies_.end() ? nullptr : &it->second;
}

void ScriptCache::Flush() {
  bodies_.clear();
  body_bytes_ = 0;
  ++generation_;
}

}  // namespace understudy::server
