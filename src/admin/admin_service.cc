#include "admin/admin_service.h"

#include "admin/admin_service_impl.h"
#include "store/store.h"

namespace herald::admin {

ApiResult<std::unique_ptr<AdminService>> AdminService::open(const std::filesystem::path& store_path,
                                                            const std::filesystem::path& data_dir,
                                                            NodeControl& node, Seed seed,
                                                            const Clock& clock) {
  auto store = store::openSqliteStore(store_path);
  if (!store) {
    return tl::unexpected(ApiError{
        500, "internal_error", "cannot open the store: " + store.error().toString(), "", "", ""});
  }
  auto service = std::make_unique<AdminServiceImpl>(
      std::make_unique<detail::Context>(std::move(*store), node, clock, std::move(seed)));
  if (auto started = service->start(data_dir); !started) {
    return tl::unexpected(started.error());
  }
  return std::unique_ptr<AdminService>(std::move(service));
}

}  // namespace herald::admin
