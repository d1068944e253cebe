#include "admin/web_assets.h"

namespace herald::admin {

const WebAsset* findWebAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const WebAsset& a : webAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

}  // namespace herald::admin
