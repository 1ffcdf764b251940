// Boost.JSON compiled once for tern-web (its src.hpp in exactly one source file).
#include <boost/json/src.hpp>
