/* spikard.ffi.h SPIKARD_VERSION=0.1.0 SPIKARD_ABI_VERSION=2 SPIKARD_CONFIG_VERSION=1 */
/* Generated from include/spikard.h by scripts/build.php (cc -E -P): do not edit. */
typedef enum spikard_error {
    SPIKARD_OK = 0,
    SPIKARD_EINVAL = -1,
    SPIKARD_EBADHANDLE = -2,
    SPIKARD_EVERSION = -3,
    SPIKARD_ECONFIG = -4,
    SPIKARD_ETIMEOUT = -5,
    SPIKARD_ESTATE = -6,
    SPIKARD_ERANGE = -7,
    SPIKARD_ECLOSED = -8,
    SPIKARD_EIO = -9,
    SPIKARD_ENOTIMPL = -10,
    SPIKARD_EINTERNAL = -11
} spikard_error;
typedef enum spikard_request_kind {
    SPIKARD_KIND_HTTP = 0,
    SPIKARD_KIND_WS_MESSAGE = 1,
    SPIKARD_KIND_WS_CLOSE = 2,
    SPIKARD_KIND_SHUTDOWN = 3,
    SPIKARD_KIND_WS_OPEN = 4
} spikard_request_kind;
typedef struct spikard_request {
    uint32_t size;
    uint32_t kind;
    uint64_t id;
    uint64_t tag;
    int64_t app;
    const char *handler;
    size_t handler_len;
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    const char *headers;
    size_t headers_len;
    const char *request_id;
    size_t request_id_len;
    const char *values;
    size_t values_len;
    const char *body;
    size_t body_len;
    uint64_t conn;
} spikard_request;
typedef void (*spikard_handler_fn)(const spikard_request *req, void *data);
typedef void (*spikard_free_fn)(void *data);
typedef void (*spikard_event_fn)(int64_t app, int event, void *data);
uint32_t spikard_abi_version(void);
const char *spikard_version(void);
const char *spikard_last_error(void);
const char *spikard_strerror(int code);
int spikard_app_new(const char *config_json, size_t config_len, int64_t *out_app);
int spikard_app_free(int64_t app);
int spikard_app_handle_callback(int64_t app, const char *name, spikard_handler_fn fn, void *data,
                                spikard_free_fn free_data);
int spikard_app_handle_queued(int64_t app, const char *name, uint64_t tag);
int spikard_app_config(int64_t app, char *buf, size_t cap, size_t *out_len);
int spikard_app_openapi(int64_t app, char *buf, size_t cap, size_t *out_len);
int spikard_app_listen(int64_t app, const char *host, uint16_t port, uint16_t *out_port);
int spikard_app_shutdown(int64_t app, int timeout_ms);
int spikard_app_ready_fd(int64_t app, int *out_fd);
int spikard_next(int64_t app, int timeout_ms, spikard_request *out, size_t cap, size_t *out_n);
int spikard_try_next(int64_t app, spikard_request *out, size_t cap, size_t *out_n);
int spikard_respond(uint64_t request_id, int status, const char *headers, size_t headers_len,
                    const char *body, size_t body_len);
int spikard_respond_error(uint64_t request_id, const char *message);
int spikard_continue(uint64_t request_id, const char *changes, size_t changes_len);
int spikard_background(uint64_t request_id, const char *handler, const char *payload, size_t payload_len);
int spikard_stream_begin(uint64_t request_id, int status, const char *headers, size_t headers_len,
                         uint64_t *out_stream);
int spikard_stream_write(uint64_t stream, const char *data, size_t len);
int spikard_stream_end(uint64_t stream);
int spikard_stream_fail(uint64_t stream, const char *message);
int spikard_sse_send(uint64_t stream, const char *event, size_t event_len, const char *data, size_t data_len,
                     const char *id, size_t id_len, const char *comment, size_t comment_len, int64_t retry_ms);
int spikard_ws_send(uint64_t conn, int opcode, const char *data, size_t len);
int spikard_ws_close(uint64_t conn, int code, const char *reason, size_t reason_len);
int spikard_app_on_shutdown(int64_t app, spikard_event_fn fn, void *data, spikard_free_fn free_data);
