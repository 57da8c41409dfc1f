// Asks Linux to back a range of this process's memory with transparent huge pages (madvise MADV_HUGEPAGE).
// Where the kernel's setting is "madvise" (Ubuntu's and many clouds' default), memory gets 2 MiB pages only when asked;
// the merge's working memory is touched for the first time once, and one fault per 2 MiB instead of one per 4 KiB makes
// that first touch several times cheaper.
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <unistd.h>

#include "map-file.h"
#ifdef __linux__
#include <sys/mman.h>
#endif

// advise(view: ArrayBufferView, bytes: number): 0, or the errno madvise failed with (ENOSYS where there is no such call).
// The range starts at the view's first byte, rounded down to a page, and is `bytes` long: it may reach past the view,
// into memory reserved behind it (a WebAssembly memory's room to grow).
static napi_value advise(napi_env env, napi_callback_info info) {
	size_t argc = 2;
	napi_value argv[2];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
		napi_throw_type_error(env, NULL, "advise(view, bytes) takes a typed array and a byte count");
		return NULL;
	}
	void *data = NULL;
	if (napi_get_typedarray_info(env, argv[0], NULL, NULL, &data, NULL, NULL) != napi_ok) {
		napi_throw_type_error(env, NULL, "advise: the first argument must be a typed array");
		return NULL;
	}
	double bytes = 0;
	if (napi_get_value_double(env, argv[1], &bytes) != napi_ok || !(bytes >= 0)) {
		napi_throw_type_error(env, NULL, "advise: the byte count must be a number of at least 0");
		return NULL;
	}
	int result = ENOSYS;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)data & ~(page - 1);
	uintptr_t end = (uintptr_t)data + (uintptr_t)bytes;
	result = madvise((void *)start, end - start, MADV_HUGEPAGE) == 0 ? 0 : errno;
#endif
	napi_value out;
	napi_create_int32(env, result, &out);
	return out;
}

// hugePageOffset(view): the view's first byte's address modulo 2 MiB (where huge pages start), for the caller to
// align the memory's growth to.
static napi_value huge_page_offset(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value argv[1];
	void *data = NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_typedarray_info(env, argv[0], NULL, NULL, &data, NULL, NULL) != napi_ok) {
		napi_throw_type_error(env, NULL, "hugePageOffset(view) takes a typed array");
		return NULL;
	}
	napi_value out;
	napi_create_uint32(env, (uint32_t)((uintptr_t)data & ((2u << 20) - 1)), &out);
	return out;
}

NAPI_MODULE_INIT() {
	napi_value fn;
	napi_create_function(env, "advise", NAPI_AUTO_LENGTH, advise, NULL, &fn);
	napi_set_named_property(env, exports, "advise", fn);
	napi_create_function(env, "hugePageOffset", NAPI_AUTO_LENGTH, huge_page_offset, NULL, &fn);
	napi_set_named_property(env, exports, "hugePageOffset", fn);
	register_map_file(env, exports);
	return exports;
}
