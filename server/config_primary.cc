// The directives of the key classes and of the primary link (see
// docs/configuration.md), and the checks that span several of them.
#include <cctype>
#include <climits>
#include <functional>
#include <utility>

#include "protocol/request_parser.h"
#include "replication/key_class.h"
#include "server/config_directives.h"

namespace understudy::server::config_internal {
namespace {

using replication::KeyClass;

// A host name or address as it may appear in a config line: non-empty,
// printable, no spaces or quotes (so CONFIG GET's "host port" splits back).
bool ParseHostPort(Values v, const char* directive, HostPort* out, std::string* error) {
  if (v.size() != 2) {
    *error = std::string(directive) + " needs HOST PORT";
    return false;
  }
  const std::string_view host = v[0];
  bool host_ok = !host.empty();
  for (char c : host) {
    if (!std::isgraph(static_cast<unsigned char>(c)) || c == '"' || c == '\'') host_ok = false;
  }
  if (!host_ok) {
    *error = "bad host '" + std::string(host) + "'";
    return false;
  }
  int64_t port = 0;
  std::string reason;
  if (!ParseIntInRange(v[1], 1, 65535, &port, &reason)) {
    *error = "bad port '" + std::string(v[1]) + "': " + reason;
    return false;
  }
  out->host = std::string(host);
  out->port = static_cast<int>(port);
  return true;
}

std::string FormatHostPort(const HostPort& address) {
  return address.host + " " + std::to_string(address.port);
}

// A repeatable directive's list given whole, as CONFIG GET shows it: one
// entry per line, each line split like a config-file line.
bool ForEachLine(std::string_view text, const std::function<bool(Values, std::string*)>& add,
                 std::string* error) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t newline = text.find('\n', pos);
    if (newline == std::string_view::npos) newline = text.size();
    std::vector<std::string> words;
    if (!protocol::SplitInlineArgs(text.substr(pos, newline - pos), &words)) {
      *error = "Unbalanced quotes in configuration line";
      return false;
    }
    pos = newline + 1;
    if (words.empty()) continue;
    std::vector<std::string_view> views(words.begin(), words.end());
    if (!add(views, error)) return false;
  }
  return true;
}

// Parses one class and appends it, if it may follow the classes before it.
bool AddClass(std::vector<KeyClass>* classes, Values words, std::string* error) {
  KeyClass parsed;
  if (!replication::ParseKeyClass(words, &parsed, error) ||
      !replication::CheckClassFollows(*classes, parsed, error)) {
    return false;
  }
  classes->push_back(std::move(parsed));
  return true;
}

bool AddSentinel(std::vector<HostPort>* sentinels, Values words, std::string* error) {
  HostPort address;
  if (!ParseHostPort(words, "primary-sentinel", &address, error)) return false;
  for (const HostPort& known : *sentinels) {
    if (known == address) {
      *error = "Sentinel " + FormatHostPort(address) + " is listed twice";
      return false;
    }
  }
  sentinels->push_back(std::move(address));
  return true;
}

// A repeatable directive: in a config file each line adds one entry; given
// at runtime, the value is the whole list (CONFIG GET's form) and replaces it.
template <typename T>
Directive Repeatable(const char* name, std::vector<T> Config::*field,
                     bool (*add)(std::vector<T>*, Values, std::string*),
                     std::string (*format)(const T&)) {
  return Directive{name, kImmutable | kRepeatable, RewriteStyle::kPlain,
                   [field, add](Config& c, Values v, bool startup, std::string* error) {
                     if (startup) return add(&(c.*field), v, error);
                     if (!OneValue(v, error)) return false;
                     std::vector<T> entries;
                     auto add_entry = [&](Values words, std::string* e) {
                       return add(&entries, words, e);
                     };
                     if (!ForEachLine(v[0], add_entry, error)) return false;
                     c.*field = std::move(entries);
                     return true;
                   },
                   [field, format](const Config& c) {
                     std::string out;
                     for (const T& entry : c.*field) {
                       if (!out.empty()) out += '\n';
                       out += format(entry);
                     }
                     return out;
                   }};
}

// primary HOST PORT, or primary "" for none (standalone).
bool SetPrimary(Config& c, Values v, bool, std::string* error) {
  if (v.size() == 1 && v[0].empty()) {
    c.primary_host.clear();
    c.primary_port = 0;
    return true;
  }
  HostPort address;
  if (!ParseHostPort(v, "primary", &address, error)) {
    if (v.size() != 2) *error = "primary needs HOST PORT, or \"\" for none";
    return false;
  }
  c.primary_host = std::move(address.host);
  c.primary_port = address.port;
  return true;
}

std::string GetPrimary(const Config& c) {
  return c.primary_host.empty() ? "" : FormatHostPort({c.primary_host, c.primary_port});
}

}  // namespace

void AddPrimaryLinkDirectives(std::vector<Directive>* table) {
  std::vector<Directive>& d = *table;
  // Key classes. Startup only for now: the classifier is built once.
  d.push_back(
      Repeatable<KeyClass>("class", &Config::classes, AddClass, replication::FormatKeyClass));
  // The primary link: where, as whom, over what. Startup only.
  d.push_back(Directive{"primary", kImmutable, RewriteStyle::kPlain, SetPrimary, GetPrimary});
  d.push_back(String("primary-user", &Config::primary_user, kImmutable));
  d.push_back(String("primary-password", &Config::primary_password, kImmutable));
  d.push_back(YesNo("primary-tls", &Config::primary_tls, kImmutable));
  d.push_back(String("primary-tls-ca-cert-file", &Config::primary_tls_ca_cert_file, kImmutable));
  d.push_back(String("primary-tls-cert-file", &Config::primary_tls_cert_file, kImmutable));
  d.push_back(String("primary-tls-key-file", &Config::primary_tls_key_file, kImmutable));
  d.push_back(String("primary-tls-server-name", &Config::primary_tls_server_name, kImmutable));
  d.push_back(Integer("primary-timeout", &Config::primary_timeout_ms, 1, INT_MAX, kImmutable));
  d.push_back(Integer("primary-probe-interval", &Config::primary_probe_interval_ms, 1, INT_MAX,
                      kImmutable));
  d.push_back(Integer("primary-probe-max-interval", &Config::primary_probe_max_interval_ms, 1,
                      INT_MAX, kImmutable));
  d.push_back(Integer("primary-connections", &Config::primary_connections, 1, 64, kImmutable));
  d.push_back(Integer("primary-pinned-max", &Config::primary_pinned_max, 1, INT_MAX, kImmutable));
  d.push_back(Repeatable<HostPort>("primary-sentinel", &Config::primary_sentinels, AddSentinel,
                                   FormatHostPort));
  d.push_back(String("primary-name", &Config::primary_name, kImmutable));
}

bool ValidateConfig(const Config& c, std::string* error, std::vector<std::string_view>* culprits) {
  auto fail = [&](std::string reason, std::vector<std::string_view> involved) {
    *error = std::move(reason);
    if (culprits != nullptr) *culprits = std::move(involved);
    return false;
  };
  if (!c.primary_host.empty() && !c.primary_sentinels.empty()) {
    return fail(
        "primary and primary-sentinel exclude each other: name the primary directly or let "
        "Sentinel find it, not both",
        {"primary", "primary-sentinel"});
  }
  if (!c.primary_sentinels.empty() && c.primary_name.empty()) {
    return fail("primary-sentinel needs primary-name, the master's name at the Sentinels",
                {"primary-sentinel", "primary-name"});
  }
  if (c.primary_probe_max_interval_ms < c.primary_probe_interval_ms) {
    return fail("primary-probe-max-interval (" + std::to_string(c.primary_probe_max_interval_ms) +
                    ") must not be below primary-probe-interval (" +
                    std::to_string(c.primary_probe_interval_ms) + ")",
                {"primary-probe-interval", "primary-probe-max-interval"});
  }
  if (c.primary_tls_cert_file.empty() != c.primary_tls_key_file.empty()) {
    return fail("primary-tls-cert-file and primary-tls-key-file go together: set both or neither",
                {"primary-tls-cert-file", "primary-tls-key-file"});
  }
  return true;
}

}  // namespace understudy::server::config_internal
