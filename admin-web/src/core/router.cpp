#include "tern/web/router.hpp"

#include "tern/web/form.hpp"

namespace tern::web {

bool match_pattern(std::string_view pattern, std::string_view path, Params& params) {
  params.clear();
  if (path.empty() || path.front() != '/') return false;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // "/domains/" = "/domains"
  std::size_t pp = 0, sp = 0;
  while (true) {
    bool pend = pp >= pattern.size(), send = sp >= path.size();
    if (pend || send) return pend && send;
    if (pattern[pp] != '/' || path[sp] != '/') return false;
    ++pp;
    ++sp;
    std::size_t pe = pattern.find('/', pp);
    if (pe == std::string_view::npos) pe = pattern.size();
    std::size_t se = path.find('/', sp);
    if (se == std::string_view::npos) se = path.size();
    std::string_view pseg = pattern.substr(pp, pe - pp), sseg = path.substr(sp, se - sp);
    if (pseg.size() >= 2 && pseg.front() == '{' && pseg.back() == '}') {
      auto v = percent_decode(sseg, false);
      if (!v || v->empty() || v->find('/') != std::string::npos || !is_clean_text(*v, true)) return false;
      params.emplace_back(std::string(pseg.substr(1, pseg.size() - 2)), std::move(*v));
    } else if (pseg != sseg) {
      return false;
    }
    pp = pe;
    sp = se;
  }
}

std::string param(const Params& p, std::string_view name) {
  for (auto& [k, v] : p)
    if (k == name) return v;
  return {};
}

}  // namespace tern::web
