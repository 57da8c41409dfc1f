// Maps a file's bytes into a range of this process's memory (mmap MAP_FIXED | MAP_PRIVATE), in place of what was
// there: the merge's inputs then lie in the WebAssembly memory its kernels read, as the page cache holds them, where a
// read would copy them (about 6 GB/s on the bench machine, a sixth of a simple merge's time) into memory that had to
// be touched first.
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "map-file.h"

static int read_int64(napi_env env, napi_value value, int64_t *out) {
	return napi_get_value_int64(env, value, out) == napi_ok;
}

#ifdef __linux__
// Whether every page of [start, start + bytes) is in the page cache (mincore), asked a batch of pages at a time.
static int all_resident(void *start, size_t bytes, size_t page) {
	unsigned char resident[4096];
	for (size_t done = 0; done < bytes;) {
		size_t batch = bytes - done < sizeof resident * page ? bytes - done : sizeof resident * page;
		if (mincore((char *)start + done, batch, resident) != 0) {
			return 0;
		}
		for (size_t i = 0; i < (batch + page - 1) / page; i++) {
			if (!(resident[i] & 1)) {
				return 0;
			}
		}
		done += batch;
	}
	return 1;
}
#endif

// mapFile(view: ArrayBufferView, fd: number, offset: number): 0, −1 where some of the bytes are not in the page cache,
// or the errno mmap failed with (ENOSYS where there is no such call, EINVAL where the view's first byte and `offset`
// lie at different places within a page). The pages that hold the view take the file's pages that hold bytes
// [offset, offset + view's length): the view then reads those bytes, and the rest of its first and last pages hold
// the file's bytes beside them. Writes stay private to this process. Bytes not yet in the page cache would be read
// from disk by the page faults of whoever reads them first, one fault at a time, where reads keep many large requests
// on their way: for those, −1 says to read them instead.
static napi_value map_file(napi_env env, napi_callback_info info) {
	size_t argc = 3;
	napi_value argv[3];
	void *data = NULL;
	size_t length = 0;
	int64_t fd = -1;
	int64_t offset = -1;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
	    napi_get_typedarray_info(env, argv[0], NULL, &length, &data, NULL, NULL) != napi_ok ||
	    !read_int64(env, argv[1], &fd) || !read_int64(env, argv[2], &offset) || fd < 0 || offset < 0) {
		napi_throw_type_error(env, NULL, "mapFile(view, fd, offset) takes a Uint8Array, a file descriptor and a byte offset");
		return NULL;
	}
	int result = ENOSYS;
#ifdef __linux__
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)data;
	if (length == 0) {
		result = 0;
	} else if ((start & (page - 1)) != ((uintptr_t)offset & (page - 1))) {
		result = EINVAL;
	} else {
		uintptr_t first = start & ~(page - 1);
		uintptr_t end = (start + length + page - 1) & ~(page - 1);
		void *mapped = mmap((void *)first, end - first, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, (int)fd,
		                    (off_t)((uintptr_t)offset - (start - first)));
		result = mapped == MAP_FAILED ? errno : all_resident((void *)first, end - first, page) ? 0 : -1;
	}
#endif
	napi_value out;
	napi_create_int32(env, result, &out);
	return out;
}

// unmapPages(view: Uint8Array): 0, or the errno madvise failed with. Drops the pages that hold the view (madvise
// MADV_DONTNEED): a mapping no longer used leaves the process's resident memory, where it would stay until a later
// mapping replaced it, and the regions kept for mappings would count in the merge's peak as a whole.
static napi_value unmap_pages(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value argv[1];
	void *data = NULL;
	size_t length = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_typedarray_info(env, argv[0], NULL, &length, &data, NULL, NULL) != napi_ok) {
		napi_throw_type_error(env, NULL, "unmapPages(view) takes a Uint8Array");
		return NULL;
	}
	int result = ENOSYS;
#ifdef __linux__
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t first = (uintptr_t)data & ~(page - 1);
	uintptr_t end = ((uintptr_t)data + length + page - 1) & ~(page - 1);
	result = length == 0 || madvise((void *)first, end - first, MADV_DONTNEED) == 0 ? 0 : errno;
#endif
	napi_value out;
	napi_create_int32(env, result, &out);
	return out;
}

void register_map_file(napi_env env, napi_value exports) {
	napi_value fn;
	napi_create_function(env, "mapFile", NAPI_AUTO_LENGTH, map_file, NULL, &fn);
	napi_set_named_property(env, exports, "mapFile", fn);
	napi_create_function(env, "unmapPages", NAPI_AUTO_LENGTH, unmap_pages, NULL, &fn);
	napi_set_named_property(env, exports, "unmapPages", fn);
}
