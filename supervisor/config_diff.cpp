#include "config_diff.hpp"

#include <map>

namespace tern::supervisor {

namespace {

// "table.key" -> value text, from dump_config's "[table]" / "key = value" lines.
std::map<std::string, std::string> settings(std::string_view text) {
  std::map<std::string, std::string> out;
  std::string table;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      table = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find(" = ");
    if (eq == std::string_view::npos) continue;
    out[table + "." + std::string(line.substr(0, eq))] = std::string(line.substr(eq + 3));
  }
  return out;
}

std::string shown(const std::string& name) {
  auto dot = name.find('.');
  if (dot == 0) return name.substr(1);
  return "[" + name.substr(0, dot) + "] " + name.substr(dot + 1);
}

}  // namespace

std::vector<std::string> config_changes(std::string_view before, std::string_view after,
                                        const std::set<std::string>& skip) {
  auto a = settings(before), b = settings(after);
  std::vector<std::string> out;
  auto report = [&](const std::string& k, const std::string& from, const std::string& to) {
    std::string key = k.front() == '.' ? k.substr(1) : k;
    if (skip.count(key)) return;
    out.push_back(shown(k) + ": " + from + " -> " + to);
  };
  for (auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) report(k, v, "(unset)");
    else if (it->second != v) report(k, v, it->second);
  }
  for (auto& [k, v] : b)
    if (!a.count(k)) report(k, "(unset)", v);
  return out;
}

}  // namespace tern::supervisor
