// ConfigStore: loading config files and command lines, CONFIG SET and
// CONFIG GET over the directive table (config_directives.cc). Behaviour and
// error texts follow redis-server 7.0, because operators reuse redis.conf
// habits and tools match on the errors.
#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/glob.h"
#include "protocol/request_parser.h"
#include "server/config_directives.h"

namespace understudy::server {

using config_internal::Directive;
using config_internal::Directives;
using config_internal::FindDirective;
using config_internal::Values;

bool ConfigStore::Set(std::string_view name, Values values, bool startup, std::string* error) {
  const Directive* directive = FindDirective(name);
  if (directive == nullptr) {
    *error = "Bad directive or wrong number of arguments";
    return false;
  }
  if (!startup && directive->has(config_internal::kImmutable)) {
    *error = "can't set immutable config";
    return false;
  }
  if (!startup && directive->has(config_internal::kProtected)) {
    *error = "can't set protected config";
    return false;
  }
  return directive->set(*config_, values, startup, error);
}

bool ConfigStore::SetFromCommand(Values pairs, std::string* error) {
  const size_t count = pairs.size() / 2;
  std::vector<const Directive*> chosen(count, nullptr);
  // First every name, in order: the first unknown one wins over everything;
  // otherwise the first immutable, protected or repeated one.
  std::string unknown, problem, problem_arg;
  for (size_t i = 0; i < count; ++i) {
    std::string_view name = pairs[2 * i];
    const Directive* directive = FindDirective(name);
    if (directive == nullptr) {
      if (unknown.empty() && problem.empty()) unknown = std::string(name);
      continue;
    }
    if (!unknown.empty() || !problem.empty()) continue;
    if (directive->has(config_internal::kImmutable)) {
      problem = "can't set immutable config";
    } else if (directive->has(config_internal::kProtected)) {
      problem = "can't set protected config";
    } else {
      for (size_t j = 0; j < i; ++j) {
        if (chosen[j] == directive) problem = "duplicate parameter";
      }
    }
    if (!problem.empty()) problem_arg = std::string(name);
    chosen[i] = directive;
  }
  if (!unknown.empty()) {
    *error = "Unknown option or number of arguments for CONFIG SET - '" + unknown + "'";
    return false;
  }
  if (!problem.empty()) {
    *error = "CONFIG SET failed (possibly related to argument '" + problem_arg + "') - " + problem;
    return false;
  }
  // Then the values, all or nothing, and the rules between directives.
  const Config backup = *config_;
  for (size_t i = 0; i < count; ++i) {
    std::string_view value = pairs[2 * i + 1];
    std::vector<std::string_view> words;
    if (chosen[i]->has(config_internal::kMultiArg)) {
      // CONFIG SET save "3600 1 300 100": split on single spaces, as Redis
      // does, so an empty value means no words and doubled spaces empty ones.
      size_t start = 0;
      while (!value.empty()) {
        size_t space = value.find(' ', start);
        words.push_back(
            value.substr(start, space == std::string_view::npos ? space : space - start));
        if (space == std::string_view::npos) break;
        start = space + 1;
      }
      if (words.empty() && std::string_view(chosen[i]->name) == "save") words.push_back("");
    } else {
      words.push_back(value);
    }
    std::string reason;
    if (!chosen[i]->set(*config_, words, /*startup=*/false, &reason)) {
      *config_ = backup;
      *error = "CONFIG SET failed (possibly related to argument '" + std::string(chosen[i]->name) +
               "') - " + reason;
      return false;
    }
  }
  std::string reason;
  std::vector<std::string_view> culprits;
  if (!config_internal::ValidateConfig(*config_, &reason, &culprits)) {
    *config_ = backup;
    // Blame the first directive of the command that the rule involves.
    std::string_view blamed = culprits.empty() ? std::string_view() : culprits[0];
    for (size_t i = 0; i < count; ++i) {
      if (std::find(culprits.begin(), culprits.end(), chosen[i]->name) != culprits.end()) {
        blamed = chosen[i]->name;
        break;
      }
    }
    *error = "CONFIG SET failed (possibly related to argument '" + std::string(blamed) + "') - " +
             reason;
    return false;
  }
  return true;
}

bool ConfigStore::Validate(std::string* error) const {
  return config_internal::ValidateConfig(*config_, error, nullptr);
}

std::vector<std::pair<std::string, std::string>> ConfigStore::Get(std::string_view pattern) const {
  std::string_view one[] = {pattern};
  return GetMatching(one);
}

std::vector<std::pair<std::string, std::string>> ConfigStore::GetMatching(Values patterns) const {
  // As Redis 7.0: a name without glob characters is looked up directly and
  // answered under the spelling it was asked with; a pattern matches the
  // directive names case-insensitively. Each directive is listed once.
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<const Directive*> seen;
  auto already = [&](const Directive* d) {
    return std::find(seen.begin(), seen.end(), d) != seen.end();
  };
  for (std::string_view pattern : patterns) {
    if (pattern.find_first_of("[*?") == std::string_view::npos) {
      const Directive* d = FindDirective(pattern);
      if (d != nullptr && !already(d)) {
        seen.push_back(d);
        out.emplace_back(std::string(pattern), d->get(*config_));
      }
      continue;
    }
    for (const Directive& d : Directives()) {
      if (!already(&d) && GlobMatch(pattern, d.name, /*nocase=*/true)) {
        seen.push_back(&d);
        out.emplace_back(d.name, d.get(*config_));
      }
    }
  }
  return out;
}

namespace {

// The line as shown in a startup error, which goes to the log: a password
// directive's arguments are replaced, so a typo never prints the secret.
std::string LineForError(std::string_view line) {
  static constexpr std::string_view kSecretDirectives[] = {"requirepass", "primary-password",
                                                           "masterauth"};
  size_t start = line.find_first_not_of(" \t-");
  if (start == std::string_view::npos) return std::string(line);
  size_t end = line.find_first_of(" \t", start);
  std::string name(line.substr(start, end == std::string_view::npos ? line.npos : end - start));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view secret : kSecretDirectives) {
    if (name == secret) return std::string(line.substr(0, start)) + name + " (redacted)";
  }
  return std::string(line);
}

std::string LineError(size_t number, std::string_view line, std::string_view reason) {
  return "Reading the configuration file, at line " + std::to_string(number) + "\n>>> '" +
         LineForError(line) + "'\n" + std::string(reason);
}

}  // namespace

bool ConfigStore::LoadText(std::string_view text, std::string* error) {
  // The last line of each directive, for errors of the rules between
  // directives, which can only be checked once everything is read.
  std::map<std::string_view, std::pair<size_t, std::string>> last_line;
  size_t number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t newline = text.find('\n', pos);
    std::string_view raw = text.substr(
        pos, newline == std::string_view::npos ? std::string_view::npos : newline - pos);
    pos = newline == std::string_view::npos ? text.size() + 1 : newline + 1;
    ++number;
    // Trimmed as redis-server trims, so the error shows the line that way.
    size_t first = raw.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) continue;
    std::string line(raw.substr(first, raw.find_last_not_of(" \t\r\n") - first + 1));
    if (line[0] == '#') continue;
    auto fail = [&](std::string_view reason) {
      *error = LineError(number, line, reason);
      return false;
    };
    std::vector<std::string> words;
    if (!protocol::SplitInlineArgs(line, &words)) {
      return fail("Unbalanced quotes in configuration line");
    }
    if (words.empty()) continue;
    std::vector<std::string_view> values(words.begin() + 1, words.end());
    std::string reason;
    if (!Set(words[0], values, /*startup=*/true, &reason)) return fail(reason);
    last_line[FindDirective(words[0])->name] = {number, line};
  }
  std::string reason;
  std::vector<std::string_view> culprits;
  if (config_internal::ValidateConfig(*config_, &reason, &culprits)) return true;
  // Point at the line, among those of the directives involved, read last.
  const std::pair<size_t, std::string>* blamed = nullptr;
  for (std::string_view name : culprits) {
    auto it = last_line.find(name);
    if (it != last_line.end() && (blamed == nullptr || it->second.first > blamed->first)) {
      blamed = &it->second;
    }
  }
  *error = blamed != nullptr ? LineError(blamed->first, blamed->second, reason)
                             : "Invalid configuration: " + reason;
  return false;
}

namespace {

bool ReadWholeFile(const std::string& path, std::string* content, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "Fatal error, can't open config file '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  *content = buffer.str();
  return true;
}

std::string AbsolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace

bool ConfigStore::LoadFile(const std::string& path, std::string* error) {
  std::string content;
  if (!ReadWholeFile(path, &content, error)) return false;
  config_->config_file = AbsolutePath(path);
  return LoadText(content, error);
}

bool ConfigStore::LoadCommandLine(int argc, const char* const* argv, std::string* error) {
  // As redis-server: the options become lines appended to the file's text
  // ("--port 6390 --bind 127.0.0.1 ::1" -> `port "6390"` and
  // `bind "127.0.0.1" "::1"`), so line numbers in errors count on from it.
  std::string text;
  int i = 1;
  if (i < argc && argv[i][0] != '-') {
    if (!ReadWholeFile(argv[i], &text, error)) return false;
    config_->config_file = AbsolutePath(argv[i]);
    ++i;
  }
  std::string options;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) == "--") {
      if (!options.empty()) options += "\n";
      options += arg.substr(2);
      options += " ";
      // `--save` with no value (last, or followed by another option) means
      // save "": no snapshots.
      bool value_follows = i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--";
      if (!value_follows && arg == "--save") options += "\"\"";
    } else {
      options += config_internal::QuoteForConfigFile(arg);
      options += " ";
    }
  }
  if (!options.empty()) text += "\n" + options;
  return LoadText(text, error);
}

}  // namespace understudy::server
