#include <node_api.h>

// Adds mapFile and unmapPages (map-file.c) to the helper's exports.
void register_map_file(napi_env env, napi_value exports);
