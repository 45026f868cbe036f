#include "server/command_table.h"

#include <stdexcept>

namespace understudy::server {

std::string_view LowerCaseName(std::string_view name, char* buffer, size_t capacity) {
  if (name.size() > capacity) return {};
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return std::string_view(buffer, name.size());
}

void CommandSpec::KeyIndexes(size_t argc, std::vector<int>* out) const {
  if (first_key <= 0) return;
  int last = last_key >= 0 ? last_key : static_cast<int>(argc) + last_key;
  int step = key_step > 0 ? key_step : 1;
  for (int i = first_key; i <= last && i < static_cast<int>(argc); i += step) out->push_back(i);
}

CommandSpec& CommandTable::Add(CommandSpec spec) {
  auto owned = std::make_unique<CommandSpec>(std::move(spec));
  CommandSpec* raw = owned.get();
  auto [it, inserted] = commands_.emplace(raw->name, std::move(owned));
  if (!inserted) throw std::logic_error("duplicate command " + raw->name);
  ordered_.push_back(raw);
  return *raw;
}

CommandSpec& CommandTable::AddSubcommand(std::string_view container, CommandSpec spec) {
  auto it = commands_.find(container);
  if (it == commands_.end())
    throw std::logic_error("no container command " + std::string(container));
  auto owned = std::make_unique<CommandSpec>(std::move(spec));
  owned->parent = it->second.get();
  CommandSpec& ref = *owned;
  it->second->subcommands.push_back(std::move(owned));
  return ref;
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char buffer[64];
  std::string_view lower = LowerCaseName(name, buffer, sizeof(buffer));
  if (lower.empty()) return nullptr;
  auto it = commands_.find(lower);
  return it == commands_.end() ? nullptr : it->second.get();
}

CommandLookup CommandTable::Lookup(std::span<const std::string_view> args) const {
  CommandLookup result;
  const CommandSpec* base = Find(args[0]);
  if (base == nullptr || base->subcommands.empty() || args.size() < 2) {
    result.spec = base;
    return result;
  }
  char buffer[64];
  std::string_view sub = LowerCaseName(args[1], buffer, sizeof(buffer));
  for (const auto& candidate : base->subcommands) {
    if (candidate->name == sub) {
      result.spec = candidate.get();
      return result;
    }
  }
  result.container = base;
  return result;
}

}  // namespace understudy::server
