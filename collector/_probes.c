/*
 * The collector's hot path: pcap / pcapng records -> radio header -> 802.11
 * probe requests, written into column buffers that Python owns.
 *
 * Why C: tshark- and scapy-style per-packet dissection costs 30-3000 us per
 * frame; this walk costs well under 1 us, so a day of a busy store parses in
 * seconds. Everything here is bounds-checked against the caller's buffer: a
 * capture is untrusted input. No Python object is touched while walking, so the
 * GIL is released and hashing / Parquet writing proceed on the other core.
 *
 * Raw MAC addresses leave this file only as integers in a caller-owned buffer
 * that the anonymiser replaces with keyed hashes before anything is written.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* byte helpers                                                             */

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint16_t rd16(const uint8_t *p, int swapped) { return swapped ? be16(p) : le16(p); }
static inline uint32_t rd32(const uint8_t *p, int swapped) { return swapped ? be32(p) : le32(p); }

/* ------------------------------------------------------------------------ */
/* counters: indices shared with collector/probe_parser.py (COUNTER_NAMES)   */

enum {
    C_FRAMES,            /* records carrying a frame */
    C_PROBES,            /* probe requests kept */
    C_PROBES_BAD_IES,    /* ...of which the element list was malformed */
    C_BAD_RADIO_HEADER,  /* radio header version/length inconsistent or past the frame */
    C_SHORT_FRAME,       /* shorter than the 802.11 header its frame control announces */
    C_BAD_FCS,           /* the radio header flags the frame check sequence as failed */
    C_BAD_80211_VERSION, /* 802.11 protocol version is not 0: not a frame we can read */
    C_UNSUPPORTED_LINK,  /* frames of an interface whose link type is not 802.11 */
    C_NO_TIMESTAMP,      /* pcapng simple packet blocks: no time, cannot be a sighting */
    C_OTHER_BLOCKS,      /* pcapng blocks that carry no frame (statistics, names...) */
    C_BAD_TIMESTAMP,     /* probe requests dated before 1970 or after 2199: a corrupt record */
    C_OVERSIZED,         /* pcapng packet blocks longer than any 802.11 frame: skipped whole */
    N_COUNTERS
};

/* frame kinds: type * 16 + subtype, type 0..3 */
#define N_KINDS 64

enum { FMT_UNKNOWN = 0, FMT_PCAP = 1, FMT_PCAPNG = 2 };
enum { ST_NEED_MORE = 0, ST_FULL = 1, ST_FATAL = 2 };

#define MAX_IFACES 1024
#define MAX_TS_US 7258118400000000LL /* 2200-01-01 */
/* The longest record an 802.11 capture can hold: libpcap's and Wireshark's largest
 * snaplen for 802.11 link types (262144), far above any frame (an 802.11 MPDU is at
 * most 11454 bytes, a radio header at most 65535). The file's own snaplen is not
 * trusted: 0xFFFFFFFF there must not let one record claim gigabytes of memory. */
#define MAX_RECORD (256u * 1024u)
#define MAX_PCAPNG_BLOCK (16u * 1024u * 1024u)

typedef struct {
    uint32_t linktype;  /* low 16 bits of the link type */
    int fcs_len;        /* -1 unknown, else bytes of FCS at the end of each frame */
    int tsres_pow2;     /* 0: resolution 10^-tsres, 1: 2^-tsres */
    int tsres;
    int64_t tsoffset_s;
} Iface;

/* output columns, filled per sighting */
typedef struct {
    int64_t *ts_us;
    uint64_t *mac;
    int8_t *rssi;
    uint16_t *freq;
    uint16_t *seq;
    uint8_t *flags;
    uint64_t *layout;
    Py_ssize_t cap;
    Py_ssize_t n;
} Out;

#define F_HAS_RSSI 0x01
#define F_DIRECTED 0x02
#define F_BAD_IES 0x04

/* frames, probe requests and malformed frames per UTC minute, as runs (frames
 * arrive in time order); the padding keeps the record 24 bytes on every ABI */
typedef struct {
    int64_t minute;
    uint32_t frames;
    uint32_t probes;
    uint32_t malformed;
    uint32_t unused;
} MinuteRun;

typedef struct {
    PyObject_HEAD
    MinuteRun *runs;      /* completed runs, handed to Python by take_minutes() */
    Py_ssize_t n_runs, cap_runs;
    MinuteRun run;        /* the run being counted */
    int have_run;
    int format;
    int swapped;          /* pcap: file byte order differs from little endian reading */
    int nano;             /* pcap: nanosecond timestamps */
    int rec_hdr_len;      /* pcap: 16, or 24 for the modified (Kuznetzov) format */
    Iface pcap_iface;
    int ng_swapped;       /* pcapng: current section is big endian */
    int n_ifaces;
    Iface ifaces[MAX_IFACES];
    int64_t offset;       /* bytes of the stream consumed so far */
    uint64_t counters[N_COUNTERS];
    uint64_t kinds[N_KINDS];
    uint32_t unsupported_linktype; /* the first non-802.11 link type seen */
    char error[256];
} Parser;

/* ------------------------------------------------------------------------ */
/* radio headers                                                            */

typedef struct {
    uint32_t hdr_len;   /* bytes before the 802.11 frame */
    int fcs_len;        /* -1 unknown */
    int bad_fcs;
    int has_rssi;
    int rssi;
    unsigned freq;      /* 0 = unknown */
} Radio;

static unsigned channel_to_mhz(unsigned ch) {
    if (ch == 14) return 2484;
    if (ch >= 1 && ch < 14) return 2407 + 5 * ch;
    if (ch >= 15 && ch <= 196) return 5000 + 5 * ch;
    return 0;
}

/* size and alignment of radiotap fields 0..27 (radiotap.org); 0 = unknown */
static const uint8_t RT_SIZE[28] = {8, 1, 1, 4, 2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 2, 2,
                                    1, 1, 8, 3, 8, 12, 12, 12, 12, 6, 1, 4};
static const uint8_t RT_ALIGN[28] = {8, 1, 1, 2, 2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 2, 2,
                                     1, 1, 4, 1, 4, 2, 8, 2, 2, 2, 1, 2};

/* Walks the presence bitmaps like the kernel's radiotap iterator: extended
 * bitmaps, radiotap / vendor namespaces, alignment relative to the header
 * start. Takes the first antenna signal (the combined one) and the first
 * channel. Returns 0, or -1 when the header is inconsistent with the frame. */
static int parse_radiotap(const uint8_t *f, uint32_t caplen, Radio *r) {
    if (caplen < 8 || f[0] != 0) return -1;
    uint32_t len = le16(f + 2);
    if (len < 8 || len > caplen) return -1;
    r->hdr_len = len;

    /* the presence words */
    uint32_t nwords = 1;
    while (le32(f + 4 + 4 * (nwords - 1)) & 0x80000000u) {
        if (8 + 4 * nwords > len) return -1;
        nwords++;
    }
    uint32_t pos = 4 + 4 * nwords;
    int in_radiotap_ns = 1, reset_on_ext = 0, bit_base = 0;
    uint32_t next_ns_data = 0;
    int have_flags = 0, have_chan = 0, have_xchan = 0;
    unsigned xfreq = 0;

    for (uint32_t w = 0; w < nwords; w++) {
        uint32_t word = le32(f + 4 + 4 * w);
        for (int b = 0; b < 32; b++) {
            if (!(word & (1u << b))) continue;
            if (b == 31) break; /* handled after the word */
            if (b == 29) { in_radiotap_ns = 1; reset_on_ext = 1; continue; }
            if (b == 30) {
                pos = (pos + 1) & ~1u;
                if (pos + 6 > len) return -1;
                uint32_t skip = le16(f + pos + 4);
                pos += 6 + skip;
                if (pos > len) return -1;
                next_ns_data = pos;
                in_radiotap_ns = 0;
                reset_on_ext = 1;
                continue;
            }
            if (!in_radiotap_ns) continue; /* vendor data was skipped as a whole */
            int idx = bit_base + b;
            if (idx >= 28) goto done; /* unknown size (or TLVs): nothing we need follows */
            uint32_t align = RT_ALIGN[idx], size = RT_SIZE[idx];
            pos = (pos + align - 1) & ~(align - 1);
            if (pos + size > len) return -1;
            const uint8_t *a = f + pos;
            switch (idx) {
            case 1:
                if (!have_flags) {
                    have_flags = 1;
                    if (a[0] & 0x10) r->fcs_len = 4; else r->fcs_len = 0;
                    if (a[0] & 0x40) r->bad_fcs = 1;
                }
                break;
            case 3:
                if (!have_chan) { have_chan = 1; r->freq = le16(a); }
                break;
            case 5:
                if (!r->has_rssi) { r->has_rssi = 1; r->rssi = (int8_t)a[0]; }
                break;
            case 18:
                if (!have_xchan) { have_xchan = 1; xfreq = le16(a + 4); }
                break;
            default:
                break;
            }
            pos += size;
        }
        (void)next_ns_data;
        if (reset_on_ext) { bit_base = 0; reset_on_ext = 0; } else bit_base += 32;
    }
done:
    if (!have_chan && have_xchan) r->freq = xfreq;
    return 0;
}

/* PPI (link type 192) with its 802.11-common field. */
static int parse_ppi(const uint8_t *f, uint32_t caplen, Radio *r) {
    if (caplen < 8 || f[0] != 0) return -1;
    uint32_t len = le16(f + 2);
    if (len < 8 || len > caplen) return -1;
    if (le32(f + 4) != 105) return -2; /* only 802.11 inside */
    r->hdr_len = len;
    int aligned = f[1] & 1;
    uint32_t pos = 8;
    while (pos + 4 <= len) {
        uint32_t type = le16(f + pos), flen = le16(f + pos + 2);
        uint32_t data = pos + 4;
        if (data + flen > len) return -1;
        if (type == 2 && flen >= 20) { /* 802.11-Common */
            const uint8_t *c = f + data;
            uint16_t flags = le16(c + 8);
            r->fcs_len = (flags & 0x0001) ? 4 : 0;
            if (flags & 0x0004) r->bad_fcs = 1;
            r->freq = le16(c + 12);
            int8_t sig = (int8_t)c[18];
            /* -128 marks "not supplied" in the PPI spec */
            if (sig != -128) { r->has_rssi = 1; r->rssi = sig; }
        }
        pos = data + flen;
        if (aligned) pos = (pos + 3) & ~3u;
    }
    return 0;
}

/* AVS (link type 163, and Prism captures that carry an AVS header): big endian. */
static int parse_avs(const uint8_t *f, uint32_t caplen, Radio *r) {
    if (caplen < 8) return -1;
    uint32_t len = be32(f + 4);
    if (len < 64 || len > caplen) return -1;
    r->hdr_len = len;
    r->freq = channel_to_mhz(be32(f + 28));
    if (be32(f + 44) == 2) { /* ssi_type 2: dBm */
        int32_t s = (int32_t)be32(f + 48);
        if (s >= -128 && s <= 127) { r->has_rssi = 1; r->rssi = s; }
    }
    return 0;
}

/* Prism (link type 119): message code, length, device name, then DID items
 * in the capturing host's byte order. */
static int parse_prism(const uint8_t *f, uint32_t caplen, Radio *r) {
    if (caplen < 8) return -1;
    if ((be32(f) & 0xFFFFF000u) == 0x80211000u) return parse_avs(f, caplen, r);
    int sw;
    uint32_t len = le32(f + 4);
    if (len >= 24 && len <= caplen) sw = 0;
    else {
        len = be32(f + 4);
        if (len >= 24 && len <= caplen) sw = 1; else return -1;
    }
    r->hdr_len = len;
    for (uint32_t pos = 24; pos + 12 <= len; pos += 12) {
        uint32_t did = rd32(f + pos, sw);
        uint16_t status = rd16(f + pos + 4, sw);
        int32_t val = (int32_t)rd32(f + pos + 8, sw);
        int item;
        if ((did & 0xFFFF) == 0x0044) item = (int)((did >> 16) & 0xF);       /* type 1 DIDs */
        else if ((did & 0xFFFF0FFFu) == 0x0041) item = (int)((did >> 12) & 0xF); /* type 2 */
        else continue;
        if (status != 0) continue; /* 0 = supplied */
        if (item == 3) r->freq = channel_to_mhz((unsigned)val);
        else if (item == 6 && val >= -128 && val <= 0) { r->has_rssi = 1; r->rssi = val; }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* 802.11 probe requests                                                    */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
static inline uint64_t fnv(uint64_t h, const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) { h ^= p[i]; h *= FNV_PRIME; }
    return h;
}

/* Elements whose value is part of the layout: they describe what the chip and
 * driver can do, so they stay the same while the address rotates, and hold
 * nothing personal. Everything else contributes its id only (SSIDs, channels,
 * vendor payloads such as the WPS UUID are never mixed in). */
static inline int stable_capability(uint8_t id) {
    return id == 1 || id == 45 || id == 50 || id == 127 || id == 191;
}
static inline int stable_extension(uint8_t ext) { return ext == 35 || ext == 108; }

/* Walks the element list; returns 1 when it ends exactly at `end`. */
static int walk_elements(const uint8_t *b, uint32_t start, uint32_t end, uint64_t *layout, int *directed) {
    uint64_t h = FNV_OFFSET;
    int dir = 0, seen_ssid = 0;
    uint32_t pos = start;
    while (pos + 2 <= end) {
        uint8_t id = b[pos], n = b[pos + 1];
        if (pos + 2 + (uint32_t)n > end) break;
        const uint8_t *v = b + pos + 2;
        h = fnv(h, &id, 1);
        if (id == 0 && !seen_ssid) { seen_ssid = 1; dir = n > 0; }
        else if (stable_capability(id)) { h = fnv(h, &n, 1); h = fnv(h, v, n); }
        else if (id == 221) h = fnv(h, v, n < 4 ? n : 4); /* OUI + type only */
        else if (id == 255 && n >= 1) {
            h = fnv(h, v, 1);
            if (stable_extension(v[0])) { h = fnv(h, &n, 1); h = fnv(h, v + 1, n - 1u); }
        }
        pos += 2 + n;
    }
    *layout = h;
    *directed = dir;
    return pos == end;
}

static void push_run(Parser *P) {
    if (!P->have_run) return;
    if (P->n_runs == P->cap_runs) {
        Py_ssize_t cap = P->cap_runs ? P->cap_runs * 2 : 256;
        MinuteRun *grown = realloc(P->runs, (size_t)cap * sizeof(MinuteRun));
        if (!grown) return; /* out of memory: this minute's health counts are lost, nothing else */
        P->runs = grown;
        P->cap_runs = cap;
    }
    P->runs[P->n_runs++] = P->run;
    P->have_run = 0;
}

/* Counts a frame in its minute; returns whether it was counted (a sane timestamp). */
static int count_minute(Parser *P, int64_t ts_us) {
    if (ts_us < 0 || ts_us >= MAX_TS_US) return 0;
    int64_t minute = ts_us / 60000000;
    if (P->have_run && P->run.minute == minute) {
        P->run.frames++;
        return 1;
    }
    push_run(P);
    P->run.minute = minute;
    P->run.frames = 1;
    P->run.probes = 0;
    P->run.malformed = 0;
    P->run.unused = 0;
    P->have_run = 1;
    return 1;
}

/* A malformed frame: counted by reason, and in its minute for the heartbeat. */
static inline void malformed(Parser *P, int counter, int in_minute) {
    P->counters[counter]++;
    if (in_minute) P->run.malformed++;
}

static void parse_frame(Parser *P, uint32_t linktype, int iface_fcs, const uint8_t *f, uint32_t caplen,
                        int64_t ts_us, Out *o) {
    Radio r = {0, -1, 0, 0, 0, 0};
    int rc;
    P->counters[C_FRAMES]++;
    int in_minute = count_minute(P, ts_us);
    switch (linktype) {
    case 105: rc = 0; r.fcs_len = iface_fcs; break;
    case 127: rc = parse_radiotap(f, caplen, &r); break;
    case 192: rc = parse_ppi(f, caplen, &r); break;
    case 119: rc = parse_prism(f, caplen, &r); break;
    case 163: rc = parse_avs(f, caplen, &r); break;
    default:
        P->counters[C_UNSUPPORTED_LINK]++;
        if (!P->unsupported_linktype) P->unsupported_linktype = linktype ? linktype : 0xFFFFFFFFu;
        return;
    }
    if (rc == -2) { P->counters[C_UNSUPPORTED_LINK]++; return; }
    if (rc < 0) { malformed(P, C_BAD_RADIO_HEADER, in_minute); return; }

    const uint8_t *w = f + r.hdr_len;
    uint32_t len = caplen - r.hdr_len;
    if (len < 2) { malformed(P, C_SHORT_FRAME, in_minute); return; }
    if (r.bad_fcs) { malformed(P, C_BAD_FCS, in_minute); return; }
    uint8_t fc0 = w[0], fc1 = w[1];
    if (fc0 & 3) { malformed(P, C_BAD_80211_VERSION, in_minute); return; }
    unsigned type = (fc0 >> 2) & 3, subtype = fc0 >> 4;
    if (!(type == 0 && subtype == 4)) { P->kinds[type * 16 + subtype]++; return; }

    uint32_t hdr = (fc1 & 0x80) ? 28 : 24; /* +HTC: 4 bytes of HT control */
    uint32_t body_end = len;
    if (r.fcs_len > 0) {
        if (len < hdr + (uint32_t)r.fcs_len) { malformed(P, C_SHORT_FRAME, in_minute); return; }
        body_end = len - (uint32_t)r.fcs_len;
    }
    if (body_end < hdr) { malformed(P, C_SHORT_FRAME, in_minute); return; }
    if (o->n >= o->cap) return; /* caller sized the buffers; defensive only */
    if (ts_us < 0 || ts_us >= MAX_TS_US) { P->counters[C_BAD_TIMESTAMP]++; return; }

    uint64_t layout;
    int directed;
    int clean = walk_elements(w, hdr, body_end, &layout, &directed);
    if (!clean && r.fcs_len < 0 && body_end >= hdr + 4) {
        /* bare 802.11 with unknown FCS: an element list that ends exactly 4
         * bytes early is a frame followed by its FCS */
        uint64_t l2; int d2;
        if (walk_elements(w, hdr, body_end - 4, &l2, &d2)) { clean = 1; layout = l2; directed = d2; }
    }

    const uint8_t *sa = w + 10;
    Py_ssize_t i = o->n++;
    o->ts_us[i] = ts_us;
    o->mac[i] = ((uint64_t)sa[0] << 40) | ((uint64_t)sa[1] << 32) | ((uint64_t)sa[2] << 24) |
                ((uint64_t)sa[3] << 16) | ((uint64_t)sa[4] << 8) | (uint64_t)sa[5];
    o->rssi[i] = r.has_rssi ? (int8_t)r.rssi : 0;
    o->freq[i] = (uint16_t)r.freq;
    o->seq[i] = (uint16_t)(le16(w + 22) >> 4);
    o->layout[i] = layout;
    o->flags[i] = (uint8_t)((r.has_rssi ? F_HAS_RSSI : 0) | (directed ? F_DIRECTED : 0) | (clean ? 0 : F_BAD_IES));
    P->counters[C_PROBES]++;
    if (in_minute) P->run.probes++;
    if (!clean) P->counters[C_PROBES_BAD_IES]++;
}

/* ------------------------------------------------------------------------ */
/* capture formats                                                          */

static int fatal(Parser *P, const char *msg) {
    snprintf(P->error, sizeof P->error, "%s", msg);
    return ST_FATAL;
}

static void set_link(Iface *ifc, uint32_t network) {
    ifc->linktype = network & 0xFFFF;
    ifc->fcs_len = -1;
    /* pcap "network" upper bits: F flag (bit 26) and FCS length in 16-bit words */
    if (network & 0x04000000u) ifc->fcs_len = (int)((network >> 28) & 0xF) * 2;
}

static int detect_format(Parser *P, const uint8_t *b, Py_ssize_t n, Py_ssize_t *used) {
    if (n < 4) return ST_NEED_MORE;
    uint32_t m = le32(b);
    if (m == 0x0A0D0D0Au) { P->format = FMT_PCAPNG; *used = 0; return -1; }
    int sw = -1, nano = 0, rec = 16;
    switch (m) {
    case 0xa1b2c3d4u: sw = 0; break;
    case 0xd4c3b2a1u: sw = 1; break;
    case 0xa1b23c4du: sw = 0; nano = 1; break;
    case 0x4d3cb2a1u: sw = 1; nano = 1; break;
    case 0xa1b2cd34u: sw = 0; rec = 24; break;
    case 0x34cdb2a1u: sw = 1; rec = 24; break;
    default: return fatal(P, "not a pcap or pcapng capture (unknown magic number)");
    }
    if (n < 24) return ST_NEED_MORE;
    P->format = FMT_PCAP;
    P->swapped = sw;
    P->nano = nano;
    P->rec_hdr_len = rec;
    set_link(&P->pcap_iface, rd32(b + 20, sw));
    P->pcap_iface.tsres_pow2 = 0;
    P->pcap_iface.tsres = nano ? 9 : 6;
    P->pcap_iface.tsoffset_s = 0;
    *used = 24;
    return -1;
}

static int parse_pcap(Parser *P, const uint8_t *b, Py_ssize_t n, Py_ssize_t *pos, Out *o) {
    const int sw = P->swapped;
    while (1) {
        if (o->n >= o->cap) return ST_FULL;
        Py_ssize_t p = *pos;
        if (n - p < P->rec_hdr_len) return ST_NEED_MORE;
        uint32_t sec = rd32(b + p, sw), frac = rd32(b + p + 4, sw);
        uint32_t caplen = rd32(b + p + 8, sw);
        if (caplen > MAX_RECORD) {
            /* the length is never printed: after a corrupt record it is 4 bytes of a frame */
            char msg[160];
            snprintf(msg, sizeof msg,
                     "corrupt pcap record header at byte %lld (its captured length is longer than any 802.11 frame)",
                     (long long)(P->offset + p));
            return fatal(P, msg);
        }
        if (n - p < (Py_ssize_t)P->rec_hdr_len + caplen) return ST_NEED_MORE;
        int64_t ts = (int64_t)sec * 1000000 + (P->nano ? (int64_t)(frac / 1000) : (int64_t)frac);
        parse_frame(P, P->pcap_iface.linktype, P->pcap_iface.fcs_len, b + p + P->rec_hdr_len, caplen, ts, o);
        *pos = p + P->rec_hdr_len + caplen;
    }
}

/* Interface time units -> microseconds, in 128-bit arithmetic and saturated, so a
 * corrupt timestamp or resolution gives an out-of-range value, never overflow. */
static int64_t pcapng_ts_us(const Iface *ifc, uint64_t t) {
    __int128 us;
    if (ifc->tsres_pow2) {
        us = (__int128)(((unsigned __int128)t * 1000000u) >> ifc->tsres);
    } else if (ifc->tsres >= 6) {
        int exponent = ifc->tsres - 6;
        if (exponent > 19) {
            us = 0;
        } else {
            uint64_t d = 1;
            for (int i = 0; i < exponent; i++) d *= 10;
            us = (__int128)(t / d);
        }
    } else {
        int64_t mul = 1;
        for (int i = ifc->tsres; i < 6; i++) mul *= 10;
        us = (__int128)t * mul;
    }
    us += (__int128)ifc->tsoffset_s * 1000000;
    if (us > (__int128)INT64_MAX) return INT64_MAX;
    if (us < (__int128)INT64_MIN) return INT64_MIN;
    return (int64_t)us;
}

static void pcapng_read_idb_options(Iface *ifc, const uint8_t *opt, uint32_t n, int sw) {
    uint32_t pos = 0;
    while (pos + 4 <= n) {
        uint16_t code = rd16(opt + pos, sw), len = rd16(opt + pos + 2, sw);
        if (code == 0) break;
        if (pos + 4 + len > n) break;
        const uint8_t *v = opt + pos + 4;
        if (code == 9 && len >= 1) {
            ifc->tsres_pow2 = (v[0] & 0x80) != 0;
            ifc->tsres = v[0] & 0x7F;
            if (ifc->tsres_pow2 && ifc->tsres > 63) ifc->tsres = 63;
        } else if (code == 13 && len >= 1) {
            ifc->fcs_len = v[0];
        } else if (code == 14 && len >= 8) {
            uint64_t lo = rd32(v, sw), hi = rd32(v + 4, sw);
            ifc->tsoffset_s = (int64_t)(sw ? ((lo << 32) | hi) : ((hi << 32) | lo));
        }
        pos += 4 + ((len + 3u) & ~3u);
    }
}

static int parse_pcapng(Parser *P, const uint8_t *b, Py_ssize_t n, Py_ssize_t *pos, Out *o) {
    while (1) {
        if (o->n >= o->cap) return ST_FULL;
        Py_ssize_t p = *pos;
        if (n - p < 12) return ST_NEED_MORE;
        uint32_t type = le32(b + p);
        int sw = P->ng_swapped;
        if (type == 0x0A0D0D0Au) {
            uint32_t bom = le32(b + p + 8);
            if (bom == 0x1A2B3C4Du) sw = 0;
            else if (bom == 0x4D3C2B1Au) sw = 1;
            else return fatal(P, "corrupt pcapng section header (bad byte-order magic)");
        } else {
            type = rd32(b + p, sw);
        }
        uint32_t blen = rd32(b + p + 4, sw);
        if (blen < 12 || (blen & 3) || blen > MAX_PCAPNG_BLOCK) {
            /* the length is never printed: after a corrupt block it is 4 bytes of a frame */
            char msg[160];
            snprintf(msg, sizeof msg, "corrupt pcapng block at byte %lld (its length is impossible)",
                     (long long)(P->offset + p));
            return fatal(P, msg);
        }
        if (n - p < (Py_ssize_t)blen) return ST_NEED_MORE;
        if (rd32(b + p + blen - 4, sw) != blen) {
            char msg[160];
            snprintf(msg, sizeof msg, "corrupt pcapng block at byte %lld (trailing length differs)",
                     (long long)(P->offset + p));
            return fatal(P, msg);
        }
        const uint8_t *body = b + p + 8;
        uint32_t blen_body = blen - 12;
        switch (type) {
        case 0x0A0D0D0Au: /* section header: new byte order, interfaces reset */
            if (blen < 28) return fatal(P, "corrupt pcapng section header (too short)");
            if (rd16(body + 4, sw) != 1) return fatal(P, "unsupported pcapng major version");
            P->ng_swapped = sw;
            P->n_ifaces = 0;
            break;
        case 1: { /* interface description */
            if (blen_body < 8) { P->counters[C_OTHER_BLOCKS]++; break; }
            if (P->n_ifaces >= MAX_IFACES) return fatal(P, "too many pcapng interfaces");
            Iface *ifc = &P->ifaces[P->n_ifaces++];
            set_link(ifc, rd16(body, sw));
            ifc->tsres_pow2 = 0;
            ifc->tsres = 6;
            ifc->tsoffset_s = 0;
            pcapng_read_idb_options(ifc, body + 8, blen_body - 8, sw);
            break;
        }
        case 6:   /* enhanced packet */
        case 2: { /* obsolete packet block */
            if (blen_body < 20) { P->counters[C_FRAMES]++; P->counters[C_SHORT_FRAME]++; break; }
            uint32_t ifid = type == 6 ? rd32(body, sw) : rd16(body, sw);
            uint64_t t = ((uint64_t)rd32(body + 4, sw) << 32) | rd32(body + 8, sw);
            uint32_t caplen = rd32(body + 12, sw);
            if (caplen > blen_body - 20) {
                P->counters[C_FRAMES]++;
                P->counters[C_SHORT_FRAME]++;
                break;
            }
            if (caplen > MAX_RECORD) {
                P->counters[C_FRAMES]++;
                P->counters[C_OVERSIZED]++;
                break;
            }
            if (ifid >= (uint32_t)P->n_ifaces) {
                P->counters[C_FRAMES]++;
                P->counters[C_UNSUPPORTED_LINK]++;
                break;
            }
            const Iface *ifc = &P->ifaces[ifid];
            parse_frame(P, ifc->linktype, ifc->fcs_len, body + 20, caplen, pcapng_ts_us(ifc, t), o);
            break;
        }
        case 3: /* simple packet: no timestamp */
            P->counters[C_FRAMES]++;
            P->counters[C_NO_TIMESTAMP]++;
            break;
        default:
            P->counters[C_OTHER_BLOCKS]++;
            break;
        }
        *pos = p + blen;
    }
}

/* ------------------------------------------------------------------------ */
/* Python type                                                              */

static int get_out_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: buffer size is not a multiple of %zd", name, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(parse_doc,
"parse(data, ts, mac, rssi, freq, seq, flags, layout) -> (consumed, n, status)\n\n"
"Walks the whole records at the start of `data` (a continuation of the\n"
"stream) and appends one row per probe request to the writable column\n"
"buffers (int64, uint64, int8, uint16, uint16, uint8, uint64). `consumed` is\n"
"how many bytes of `data` were used; status is 0 (needs more data),\n"
"1 (output buffers full) or 2 (fatal: see .error).");

static PyObject *Parser_parse(Parser *self, PyObject *args) {
    Py_buffer data;
    PyObject *cols[7];
    if (!PyArg_ParseTuple(args, "y*OOOOOOO", &data, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4],
                          &cols[5], &cols[6]))
        return NULL;
    static const Py_ssize_t sizes[7] = {8, 8, 1, 2, 2, 1, 8};
    static const char *names[7] = {"ts", "mac", "rssi", "freq", "seq", "flags", "layout"};
    Py_buffer views[7];
    int got = 0;
    Py_ssize_t cap = PY_SSIZE_T_MAX;
    for (; got < 7; got++) {
        if (get_out_buffer(cols[got], &views[got], sizes[got], names[got]) < 0) goto fail;
        Py_ssize_t c = views[got].len / sizes[got];
        if (c < cap) cap = c;
    }
    Out o = {views[0].buf, views[1].buf, views[2].buf, views[3].buf, views[4].buf,
             views[5].buf, views[6].buf, cap, 0};
    const uint8_t *b = data.buf;
    Py_ssize_t n = data.len, pos = 0;
    int st = -1;
    if (self->error[0]) { st = ST_FATAL; goto done; }
    Py_BEGIN_ALLOW_THREADS
    if (self->format == FMT_UNKNOWN) st = detect_format(self, b, n, &pos);
    if (st == -1) {
        if (self->format == FMT_PCAP) st = parse_pcap(self, b, n, &pos, &o);
        else st = parse_pcapng(self, b, n, &pos, &o);
    }
    Py_END_ALLOW_THREADS
    self->offset += pos;
done:
    for (int i = 0; i < 7; i++) PyBuffer_Release(&views[i]);
    PyBuffer_Release(&data);
    return Py_BuildValue("nni", pos, o.n, st);
fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    PyBuffer_Release(&data);
    return NULL;
}

static PyObject *Parser_take_minutes(Parser *self, PyObject *Py_UNUSED(ignored)) {
    push_run(self);
    PyObject *out = PyBytes_FromStringAndSize((const char *)self->runs, self->n_runs * (Py_ssize_t)sizeof(MinuteRun));
    self->n_runs = 0;
    return out;
}

static void Parser_dealloc(Parser *self) {
    free(self->runs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Parser_counters(Parser *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *t = PyTuple_New(N_COUNTERS);
    if (!t) return NULL;
    for (int i = 0; i < N_COUNTERS; i++) PyTuple_SET_ITEM(t, i, PyLong_FromUnsignedLongLong(self->counters[i]));
    return t;
}

static PyObject *Parser_kinds(Parser *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *t = PyTuple_New(N_KINDS);
    if (!t) return NULL;
    for (int i = 0; i < N_KINDS; i++) PyTuple_SET_ITEM(t, i, PyLong_FromUnsignedLongLong(self->kinds[i]));
    return t;
}

static PyObject *Parser_get_error(Parser *self, void *c) {
    if (!self->error[0]) Py_RETURN_NONE;
    return PyUnicode_FromString(self->error);
}
static PyObject *Parser_get_format(Parser *self, void *c) {
    return PyUnicode_FromString(self->format == FMT_PCAP ? "pcap" : self->format == FMT_PCAPNG ? "pcapng" : "unknown");
}
static PyObject *Parser_get_linktypes(Parser *self, void *c) {
    if (self->format == FMT_PCAP) return Py_BuildValue("(I)", self->pcap_iface.linktype);
    PyObject *t = PyTuple_New(self->n_ifaces);
    if (!t) return NULL;
    for (int i = 0; i < self->n_ifaces; i++) PyTuple_SET_ITEM(t, i, PyLong_FromUnsignedLong(self->ifaces[i].linktype));
    return t;
}
static PyObject *Parser_get_unsupported(Parser *self, void *c) {
    if (!self->unsupported_linktype) Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(self->unsupported_linktype == 0xFFFFFFFFu ? 0 : self->unsupported_linktype);
}
static PyObject *Parser_get_offset(Parser *self, void *c) { return PyLong_FromLongLong(self->offset); }

static PyMethodDef Parser_methods[] = {
    {"parse", (PyCFunction)Parser_parse, METH_VARARGS, parse_doc},
    {"counters", (PyCFunction)Parser_counters, METH_NOARGS, "Counters, in the order of COUNTER_NAMES."},
    {"take_minutes", (PyCFunction)Parser_take_minutes, METH_NOARGS,
     "Frames, probe requests and malformed frames per UTC minute since the last call, as\n"
     "packed (int64 minute, uint32 frames, uint32 probes, uint32 malformed, uint32 unused)\n"
     "runs; a minute may appear in several runs."},
    {"kinds", (PyCFunction)Parser_kinds, METH_NOARGS, "Skipped frames by type * 16 + subtype."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Parser_getset[] = {
    {"error", (getter)Parser_get_error, NULL, "Why parsing stopped for good, or None.", NULL},
    {"format", (getter)Parser_get_format, NULL, "pcap, pcapng or unknown (nothing read yet).", NULL},
    {"linktypes", (getter)Parser_get_linktypes, NULL, "Link type of each interface seen.", NULL},
    {"unsupported_linktype", (getter)Parser_get_unsupported, NULL, "First non-802.11 link type met.", NULL},
    {"offset", (getter)Parser_get_offset, NULL, "Bytes of the stream consumed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static int Parser_init(Parser *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "", kwlist)) return -1;
    free(self->runs);
    memset((char *)self + offsetof(Parser, runs), 0, sizeof(Parser) - offsetof(Parser, runs));
    return 0;
}

static PyTypeObject ParserType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "footfall.collector._probes.Parser",
    .tp_doc = PyDoc_STR("Incremental pcap/pcapng probe-request parser for one stream."),
    .tp_basicsize = sizeof(Parser),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Parser_init,
    .tp_dealloc = (destructor)Parser_dealloc,
    .tp_methods = Parser_methods,
    .tp_getset = Parser_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_probes",
    .m_doc = "Fast 802.11 probe-request extraction from capture streams.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__probes(void) {
    if (PyType_Ready(&ParserType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ParserType);
    if (PyModule_AddObject(m, "Parser", (PyObject *)&ParserType) < 0) {
        Py_DECREF(&ParserType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "N_COUNTERS", N_COUNTERS);
    return m;
}
