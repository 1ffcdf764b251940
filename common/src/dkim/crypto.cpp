#include "crypto.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>

#include "tern/util/digest.hpp"

namespace tern::dkim::detail {
namespace {
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
}

std::optional<std::string> evp_sign(KeyType type, evp_pkey_st* key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string input = type == KeyType::ed25519 ? util::sha256(data) : std::string(data);
  const EVP_MD* md = type == KeyType::ed25519 ? nullptr : EVP_sha256();
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  sig.resize(len);
  return sig;
}

bool evp_verify(KeyType type, evp_pkey_st* key, std::string_view data, std::string_view sig) {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string input = type == KeyType::ed25519 ? util::sha256(data) : std::string(data);
  const EVP_MD* md = type == KeyType::ed25519 ? nullptr : EVP_sha256();
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace tern::dkim::detail
