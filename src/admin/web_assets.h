#pragma once

// The web console's files (src/admin/web/), built into the binary by
// cmake/embed_web_assets.cmake: HttpApi serves them without touching the file system.
//
//   for (const WebAsset& a : webAssets()) { ... a.path == "/app.js" ... }

#include <span>
#include <string_view>

namespace herald::admin {

struct WebAsset {
  std::string_view path;          // "/app.js": the file's path below src/admin/web/
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong entity tag with its quotes: a hash of the bytes
  std::string_view data;
};

// Every file, sorted by path. Static storage: valid for the whole run.
std::span<const WebAsset> webAssets();

// The asset served at `path` ("/" is "/index.html"), or nullptr.
const WebAsset* findWebAsset(std::string_view path);

}  // namespace herald::admin
