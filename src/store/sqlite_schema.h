#pragma once

// The SQLite schema as versioned migrations, oldest first. Database::open() runs those newer
// than the file's version, each in its own transaction. Never edit a released migration: add
// the next version.

#include <span>

#include "store/database.h"

namespace herald::store {

std::span<const Migration> sqliteMigrations();

}  // namespace herald::store
