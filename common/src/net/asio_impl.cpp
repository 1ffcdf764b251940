// Asio and Asio SSL compiled once for all of tern (BOOST_ASIO_SEPARATE_COMPILATION
// is defined by tern_net for every user). Nothing else belongs in this file.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
