/*
 * libFuzzer target for the collector's C parser (collector/_probes.c), built with
 * AddressSanitizer and UndefinedBehaviorSanitizer by `make fuzz`.
 *
 * It drives the parser exactly as collector/probe_parser.py does, without Python:
 * the input is a capture stream handed over in pieces (a record cut by a piece's end
 * waits for the next piece, like a chunk of a file or a read from a pipe), into
 * output columns that fill up (so the "buffers full" path is walked too). The first
 * input byte chooses the piece size and the column capacity, so the fuzzer explores
 * those as well as the bytes. Every call's result is checked against what the
 * Python side relies on; a broken promise aborts, which the fuzzer reports.
 *
 * The Python functions _probes.c defines are linked (libpython) but never called.
 */
#include "../collector/_probes.c"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "broken promise: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Parser_parse without the Python buffers: one call on the bytes at hand. */
static int parse_once(Parser *P, const uint8_t *b, Py_ssize_t n, Py_ssize_t *consumed, Out *o) {
    Py_ssize_t pos = 0;
    int st = -1;
    if (P->error[0]) {
        *consumed = 0;
        return ST_FATAL;
    }
    if (P->format == FMT_UNKNOWN) st = detect_format(P, b, n, &pos);
    if (st == -1) st = P->format == FMT_PCAP ? parse_pcap(P, b, n, &pos, o) : parse_pcapng(P, b, n, &pos, o);
    P->offset += pos;
    *consumed = pos;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t shape = data[0];
    data++;
    size--;
    const size_t piece = (size_t)1 << (4 + (shape & 0x0F)); /* 16 bytes .. 512 KiB per read */
    const Py_ssize_t capacity = 1 + (shape >> 4) * 3;        /* 1 .. 46 rows per call */

    Parser *P = calloc(1, sizeof(Parser));
    int64_t ts[64];
    uint64_t mac[64], layout[64];
    int8_t rssi[64];
    uint16_t freq[64], seq[64];
    uint8_t flags[64];
    Out o = {ts, mac, rssi, freq, seq, flags, layout, capacity, 0};

    uint8_t *pending = malloc(size + 1); /* the bytes not consumed yet, as the caller keeps them */
    size_t have = 0, fed = 0;
    uint64_t probes = 0;
    int st = ST_NEED_MORE;
    while (fed < size && st != ST_FATAL) {
        size_t take = size - fed < piece ? size - fed : piece;
        memcpy(pending + have, data + fed, take);
        have += take;
        fed += take;
        for (;;) {
            Py_ssize_t consumed = 0;
            o.n = 0;
            /* exactly the bytes at hand, in their own allocation: a read one byte past
             * them is a heap overflow AddressSanitizer reports */
            uint8_t *view = malloc(have ? have : 1);
            memcpy(view, pending, have);
            st = parse_once(P, view, (Py_ssize_t)have, &consumed, &o);
            free(view);
            CHECK(consumed >= 0 && (size_t)consumed <= have);
            CHECK(o.n >= 0 && o.n <= capacity);
            CHECK(st == ST_NEED_MORE || st == ST_FULL || st == ST_FATAL);
            CHECK(st != ST_FATAL || P->error[0]);
            for (Py_ssize_t i = 0; i < o.n; i++) {
                CHECK(ts[i] >= 0 && ts[i] < MAX_TS_US);
                CHECK(mac[i] >> 48 == 0);
                CHECK(seq[i] < 4096);
                CHECK((flags[i] & ~(F_HAS_RSSI | F_DIRECTED | F_BAD_IES)) == 0);
            }
            probes += (uint64_t)o.n;
            memmove(pending, pending + consumed, have - (size_t)consumed);
            have -= (size_t)consumed;
            if (st != ST_FULL) break;
        }
    }
    push_run(P); /* what take_minutes() hands over */
    uint64_t frames = 0, counted = 0;
    for (Py_ssize_t i = 0; i < P->n_runs; i++) {
        frames += P->runs[i].frames;
        CHECK(P->runs[i].probes <= P->runs[i].frames);
    }
    CHECK(P->counters[C_PROBES] == probes);
    CHECK(P->counters[C_PROBES] <= P->counters[C_FRAMES]);
    for (int k = 0; k < N_KINDS; k++) counted += P->kinds[k];
    CHECK(counted <= P->counters[C_FRAMES]);
    CHECK(frames <= P->counters[C_FRAMES]);
    /* the message never carries a number read from the input: only byte offsets, which
     * are within what was fed (and the words of the message, such as 802.11) */
    for (const char *c = P->error; *c; c++) {
        if (*c < '0' || *c > '9' || (c > P->error && c[-1] >= '0' && c[-1] <= '9')) continue;
        unsigned long long number = strtoull(c, NULL, 10);
        CHECK(number <= (size > 65535 ? size : 65535));
    }

    free(pending);
    free(P->runs);
    free(P);
    return 0;
}
