#pragma once
// What a SIGHUP changed: the settings that differ between two dump_config() texts,
// one entry per key ("[limits] recipients: 100 -> 50"; top-level keys have no table).
// Pure; the supervisor logs each one that needs a restart.
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tern::supervisor {

// `skip`: "table.key" names not to report (what the reload applies: "tls.cert").
std::vector<std::string> config_changes(std::string_view before, std::string_view after,
                                        const std::set<std::string>& skip = {});

}  // namespace tern::supervisor
