// A table of the SQL read model: its name, its columns (the primary key's first), and the
// statements the read model runs on it.
#pragma once

#include <string>
#include <vector>

namespace gridpact::db {

struct Table {
  const char* name;
  std::vector<const char*> columns;
  size_t key_columns;
  std::string upsert() const {
    std::string cols, params, keys, sets;
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string c = columns[i];
      cols += (i ? "," : "") + c;
      params += (i ? ",$" : "$") + std::to_string(i + 1);
      if (i < key_columns)
        keys += (i ? "," : "") + c;
      else
        sets += (sets.empty() ? "" : ",") + c + "=excluded." + c;
    }
    return std::string("INSERT INTO ") + name + " (" + cols + ") VALUES (" + params +
           ") ON CONFLICT (" + keys + ") DO UPDATE SET " + sets;
  }
  std::string select_all() const {
    std::string cols, keys;
    for (size_t i = 0; i < columns.size(); ++i) {
      cols += (i ? "," : "") + std::string(columns[i]);
      if (i < key_columns) keys += (i ? "," : "") + std::string(columns[i]);
    }
    return std::string("SELECT ") + cols + " FROM " + name + " ORDER BY " + keys;
  }
};

}  // namespace gridpact::db
