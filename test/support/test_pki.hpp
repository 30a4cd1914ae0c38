#pragma once
// Test certificates made at test time with OpenSSL: a CA, server certificates
// it signs (good, wrong host name, expired) and an unrelated self-signed one,
// written as PEM files into a fresh directory.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace cleori::test {

struct pki_deleter {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
    void operator()(X509* c) const noexcept { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, pki_deleter>;
using cert_ptr = std::unique_ptr<X509, pki_deleter>;

inline key_ptr make_key() {
    key_ptr k{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
    if (!k) throw std::runtime_error("EC key generation failed");
    return k;
}

struct cert_spec {
    std::string common_name;
    std::string subject_alt_names{}; // e.g. "DNS:localhost,IP:127.0.0.1"
    bool ca = false;
    long not_before_s = -3600;       // relative to now
    long not_after_s = 86400;
};

// Issues a certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null).
inline cert_ptr make_cert(cert_spec const& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
    static long serial = 1;
    cert_ptr c{X509_new()};
    X509_set_version(c.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c.get()), spec.not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(c.get()), spec.not_after_s);
    X509_set_pubkey(c.get(), key);
    X509_NAME* name = X509_get_subject_name(c.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(spec.common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
    auto add = [&](int nid, std::string const& value) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        if (ext == nullptr) throw std::runtime_error("bad certificate extension " + value);
        X509_add_ext(c.get(), ext, -1);
        X509_EXTENSION_free(ext);
    };
    if (spec.ca) {
        add(NID_basic_constraints, "critical,CA:TRUE");
        add(NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add(NID_basic_constraints, "critical,CA:FALSE");
        add(NID_ext_key_usage, "serverAuth");
        if (!spec.subject_alt_names.empty()) add(NID_subject_alt_name, spec.subject_alt_names);
    }
    if (X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
        throw std::runtime_error("certificate signing failed");
    return c;
}

inline void write_pem(std::filesystem::path const& p, X509* c) {
    std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(p.c_str(), "w"), &std::fclose};
    if (!f || PEM_write_X509(f.get(), c) != 1) throw std::runtime_error("cannot write " + p.string());
}
inline void write_pem(std::filesystem::path const& p, EVP_PKEY* k) {
    std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(p.c_str(), "w"), &std::fclose};
    if (!f || PEM_write_PrivateKey(f.get(), k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw std::runtime_error("cannot write " + p.string());
}

// The files: ca.pem; <name>.crt/.key for good, wrong_host, expired, self_signed.
struct test_pki {
    std::filesystem::path dir;

    test_pki() {
        dir = std::filesystem::temp_directory_path() /
              ("cleori-pki-" + std::to_string(std::random_device{}()) + "-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        auto ca_key = make_key();
        auto ca = make_cert({.common_name = "cleori test CA", .ca = true}, ca_key.get(), nullptr, nullptr);
        write_pem(dir / "ca.pem", ca.get());
        auto issue = [&](std::string const& name, cert_spec spec, bool self_signed = false) {
            auto k = make_key();
            auto c = self_signed ? make_cert(spec, k.get(), nullptr, nullptr) : make_cert(spec, k.get(), ca.get(), ca_key.get());
            write_pem(dir / (name + ".crt"), c.get());
            write_pem(dir / (name + ".key"), k.get());
        };
        std::string const local = "DNS:localhost,IP:127.0.0.1";
        issue("good", {.common_name = "localhost", .subject_alt_names = local});
        issue("wrong_host", {.common_name = "other.example", .subject_alt_names = "DNS:other.example"});
        issue("expired", {.common_name = "localhost", .subject_alt_names = local, .not_before_s = -30 * 86400,
                          .not_after_s = -86400});
        issue("self_signed", {.common_name = "localhost", .subject_alt_names = local}, true);
    }
    test_pki(test_pki const&) = delete;
    test_pki& operator=(test_pki const&) = delete;
    ~test_pki() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    std::string ca() const { return (dir / "ca.pem").string(); }
    std::string crt(std::string const& name) const { return (dir / (name + ".crt")).string(); }
    std::string key(std::string const& name) const { return (dir / (name + ".key")).string(); }
};

} // namespace cleori::test
