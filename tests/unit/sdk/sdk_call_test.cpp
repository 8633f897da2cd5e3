// The C++ SDK's ABI 1.1 additions against hand-made host tables: a 1.0 host
// (table ending at instance_id) makes blob_put/blob_get throw
// SB_ERR_UNSUPPORTED instead of reading past its table, and a channel's
// default call() answers SB_ERR_UNSUPPORTED through the C table.
#include <switchboard/plugin.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

namespace {

std::string g_error;
void fake_set_error(sb_host_ctx*, sb_str m) { g_error.assign(m.data, m.len); }
sb_status fake_blob_put(sb_host_ctx*, sb_str, const void*, size_t len, sb_sink* out) {
  const std::string ref = "blob:" + std::string(64, 'a') + std::to_string(len);
  out->write(out->ctx, ref.data(), ref.size());
  return SB_OK;
}

struct SlotGuard {
  explicit SlotGuard(const sb_host_api* api) : saved(switchboard::detail::host_api_slot()) {
    switchboard::detail::host_api_slot() = api;
  }
  ~SlotGuard() { switchboard::detail::host_api_slot() = saved; }
  const sb_host_api* saved;
};

class Minimal final : public switchboard::Channel {
 public:
  Minimal(switchboard::Host host, std::string_view) : Channel(host) {}
  std::string send(std::string_view) override { return R"({"external_id":"x"})"; }
};

void append(void* ctx, const char* d, size_t n) { static_cast<std::string*>(ctx)->append(d, n); }

}  // namespace

TEST_CASE("the SDK refuses ABI 1.1 host services on a 1.0 host table instead of reading past it", "[sdk][abi]") {
  sb_host_api host{};
  host.size = static_cast<uint32_t>(offsetof(sb_host_api, instance_id) + sizeof(host.instance_id));
  host.version = SB_ABI_MAKE(1, 0);
  host.set_error = &fake_set_error;
  host.blob_put = &fake_blob_put;  // beyond `size`: must not be called
  SlotGuard guard(&host);
  switchboard::Host h(nullptr);
  try {
    h.blob_put("image/png", "bytes");
    FAIL("blob_put should have thrown");
  } catch (const switchboard::Error& e) {
    CHECK(e.status() == SB_ERR_UNSUPPORTED);
  }
  CHECK_THROWS_AS(h.blob_get("blob:x"), switchboard::Error);

  host.size = sizeof(sb_host_api);
  host.version = SB_ABI_VERSION;
  CHECK(h.blob_put("image/png", "bytes") == "blob:" + std::string(64, 'a') + "5");
}

TEST_CASE("a channel's default call answers SB_ERR_UNSUPPORTED through the C table", "[sdk][abi]") {
  sb_host_api host{};
  host.size = sizeof(sb_host_api);
  host.version = SB_ABI_VERSION;
  host.set_error = &fake_set_error;
  SlotGuard guard(&host);
  const sb_channel_api* table = switchboard::detail::channel_table<Minimal>();
  REQUIRE(table->size == sizeof(sb_channel_api));
  REQUIRE(SB_HAS_SLOT(table, sb_channel_api, call));
  REQUIRE(table->call != nullptr);
  auto* instance = static_cast<switchboard::Instance*>(new Minimal(switchboard::Host(reinterpret_cast<sb_host_ctx*>(&g_error)), "{}"));  // any non-null ctx: the fake ignores it
  std::string out;
  sb_sink sink{&out, &append};
  g_error.clear();
  const std::string op = SB_OP_GROUP_LIST;
  CHECK(table->call(instance, sb_str{op.data(), op.size()}, sb_str{"{}", 2}, &sink) == SB_ERR_UNSUPPORTED);
  CHECK(g_error.find("not supported by this channel") != std::string::npos);
  CHECK(out.empty());
  table->destroy(instance);
}
