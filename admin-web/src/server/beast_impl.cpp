// Boost.Beast compiled once for tern-web (BOOST_BEAST_SEPARATE_COMPILATION is defined
// for every tern_web_server source). Nothing else belongs in this file.
#include <boost/beast/src.hpp>
