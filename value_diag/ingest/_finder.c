/* The search for known names, compiled: value_diag.ingest.finder uses it when it is built.
 *
 * Finder(needles).search(data, pos, end) returns the offset of the leftmost needle lying
 * wholly in data[pos:end], or -1: what re's search(data, pos, end).start() gives for the
 * alternation of the needles. All needles start with the same byte (a quote) and are at
 * least two bytes long. With escapes=True a JSON escape of a byte 0x40-0x7f (\u0040 to
 * \u007F: the letters and the underscore) counts as a needle too: a key can spell a name
 * with those, and then holds none of the name's quoted bytes. Sixteen positions are tested at once for "that byte, followed by a
 * byte some needle has second"; only those are compared in full. The vector loop is built
 * with SSE2 on x86-64, and with GCC/Clang vector extensions elsewhere (NEON on aarch64 and
 * Apple Silicon); other compilers and targets get the byte-wise loop, with the same answers.
 * Defining VALUE_DIAG_PORTABLE_VECTORS builds the vector-extension loop on x86 too (tests).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__) && !defined(VALUE_DIAG_PORTABLE_VECTORS)
#include <emmintrin.h>
#define HAVE_SIMD 1
#define VECTORS "sse2"
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    (defined(__aarch64__) || defined(__ARM_NEON) || defined(VALUE_DIAG_PORTABLE_VECTORS))
#include <stdint.h>
#define HAVE_SIMD 1
#define VECTORS "vector extensions"
#else
#define HAVE_SIMD 0
#define VECTORS "none"
#endif

#define MAX_SECONDS 16      /* distinct second bytes the vector test handles */
#define RELEASE_GIL (1 << 16) /* bytes worth releasing the interpreter lock for */

typedef struct {
    PyObject_HEAD
    PyObject *needles;               /* tuple of bytes, kept alive for the pointers below */
    Py_ssize_t count;
    const char **ptr;                /* needles sorted by their second byte */
    Py_ssize_t *len;
    unsigned char lead;              /* the byte every needle starts with */
    unsigned char first[256];        /* per second byte: index of its first needle */
    unsigned char many[256];         /* per second byte: how many needles have it */
    unsigned char seconds[MAX_SECONDS];
    int nseconds;
    int simd;                        /* 1: use the vector loop */
    int escapes;                     /* 1: \u0040-\u007F escapes are found too */
} Finder;

static void
Finder_dealloc(Finder *self)
{
    PyMem_Free((void *)self->ptr);
    PyMem_Free(self->len);
    Py_XDECREF(self->needles);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
compare_second(const void *a, const void *b)
{
    const unsigned char x = (unsigned char)PyBytes_AS_STRING(*(PyObject *const *)a)[1];
    const unsigned char y = (unsigned char)PyBytes_AS_STRING(*(PyObject *const *)b)[1];
    return (int)x - (int)y;
}

static int
Finder_init(Finder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"needles", "simd", "escapes", NULL};
    PyObject *arg;
    int simd = 1, escapes = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|pp", kwlist, &arg, &simd, &escapes))
        return -1;
    PyObject *seq = PySequence_Tuple(arg);
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    if (n == 0 || n > 255) {
        PyErr_SetString(PyExc_ValueError, "between 1 and 255 needles are needed");
        goto fail;
    }
    PyObject **items = PyMem_New(PyObject *, n);
    if (items == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(seq, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) < 2) {
            PyErr_SetString(PyExc_ValueError, "needles are bytes of at least two bytes");
            PyMem_Free(items);
            goto fail;
        }
        if (PyBytes_AS_STRING(item)[0] != PyBytes_AS_STRING(PyTuple_GET_ITEM(seq, 0))[0]) {
            PyErr_SetString(PyExc_ValueError, "needles must all start with the same byte");
            PyMem_Free(items);
            goto fail;
        }
        items[i] = item;
    }
    qsort(items, (size_t)n, sizeof(PyObject *), compare_second);

    /* Whatever happens next, no table points at freed needles. */
    PyMem_Free((void *)self->ptr);
    PyMem_Free(self->len);
    memset(self->first, 0, sizeof(self->first));
    memset(self->many, 0, sizeof(self->many));
    self->count = 0;
    self->nseconds = 0;
    self->simd = 0;
    self->escapes = escapes;
    self->ptr = PyMem_New(const char *, n);
    self->len = PyMem_New(Py_ssize_t, n);
    if (self->ptr == NULL || self->len == NULL) {
        PyMem_Free(items);
        PyErr_NoMemory();
        goto fail;
    }
    self->simd = HAVE_SIMD && simd;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char second = (unsigned char)PyBytes_AS_STRING(items[i])[1];
        self->ptr[i] = PyBytes_AS_STRING(items[i]);
        self->len[i] = PyBytes_GET_SIZE(items[i]);
        if (self->many[second]++ == 0) {
            self->first[second] = (unsigned char)i;
            if (self->nseconds < MAX_SECONDS)
                self->seconds[self->nseconds] = second;
            else
                self->simd = 0;
            self->nseconds++;
        }
    }
    PyMem_Free(items);
    self->count = n;
    self->lead = (unsigned char)self->ptr[0][0];
    Py_XSETREF(self->needles, seq);
    return 0;

fail:
    Py_DECREF(seq);
    return -1;
}

/* 1 if a needle starts at s + at and ends by s + end. */
static inline int
match_at(const Finder *self, const char *s, Py_ssize_t at, Py_ssize_t end)
{
    const unsigned char second = (unsigned char)s[at + 1];
    const Py_ssize_t stop = self->first[second] + self->many[second];
    for (Py_ssize_t k = self->first[second]; k < stop; k++) {
        const Py_ssize_t n = self->len[k];
        if (at + n <= end && (n == 2 || (s[at + 2] == self->ptr[k][2] &&
                                         memcmp(s + at + 3, self->ptr[k] + 3, (size_t)(n - 3)) == 0)))
            return 1;
    }
    return 0;
}

/* 1 if s + at starts \u0040 to \u007F (any case of hex digit), ending by s + end. */
static inline int
escape_at(const char *s, Py_ssize_t at, Py_ssize_t end)
{
    if (at + 6 > end || s[at] != '\\' || s[at + 1] != 'u' || s[at + 2] != '0' ||
        s[at + 3] != '0' || s[at + 4] < '4' || s[at + 4] > '7')
        return 0;
    const char h = s[at + 5];
    return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
}

#if defined(__GNUC__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE static inline
#endif

#if HAVE_SIMD && defined(__SSE2__) && !defined(VALUE_DIAG_PORTABLE_VECTORS)
typedef __m128i vec;
ALWAYS_INLINE vec vload(const char *p) { return _mm_loadu_si128((const __m128i *)p); }
ALWAYS_INLINE vec vsplat(unsigned char c) { return _mm_set1_epi8((char)c); }
ALWAYS_INLINE vec veq(vec a, vec b) { return _mm_cmpeq_epi8(a, b); }
ALWAYS_INLINE vec vor(vec a, vec b) { return _mm_or_si128(a, b); }
ALWAYS_INLINE vec vand(vec a, vec b) { return _mm_and_si128(a, b); }
/* Bit k set where lane k is all ones. */
ALWAYS_INLINE unsigned vmask(vec a) { return (unsigned)_mm_movemask_epi8(a); }
#elif HAVE_SIMD
typedef unsigned char vec __attribute__((vector_size(16)));
ALWAYS_INLINE vec vload(const char *p)
{
    vec v;
    memcpy(&v, p, sizeof v);
    return v;
}
ALWAYS_INLINE vec vsplat(unsigned char c)
{
    vec v;
    memset(&v, c, sizeof v);
    return v;
}
ALWAYS_INLINE vec veq(vec a, vec b) { return (vec)(a == b); }
ALWAYS_INLINE vec vor(vec a, vec b) { return a | b; }
ALWAYS_INLINE vec vand(vec a, vec b) { return a & b; }
/* Bit k set where lane k is all ones: each half's top bits gathered by one multiplication
 * (lane k's bit 7 lands on bit 56 + k; no two products meet below bit 64). */
ALWAYS_INLINE unsigned vmask(vec a)
{
    uint64_t half[2];
    memcpy(half, &a, sizeof half);
    const uint64_t lo = ((half[0] & 0x8080808080808080ULL) * 0x0002040810204081ULL) >> 56;
    const uint64_t hi = ((half[1] & 0x8080808080808080ULL) * 0x0002040810204081ULL) >> 56;
    return (unsigned)(lo | (hi << 8));
}
#endif

#if HAVE_SIMD
/* The vector loop for a fixed number of second bytes, so that it is unrolled (unused slots
 * repeat a second byte), with or without counting newlines, and with or without escapes.
 * Returns the match, or -1 with *next where to go on from. */
ALWAYS_INLINE Py_ssize_t
find_simd(const Finder *self, const char *s, Py_ssize_t i, Py_ssize_t end, Py_ssize_t *next,
          Py_ssize_t *newlines, const int width, const int counting, const int escapes)
{
    const vec lead = vsplat(self->lead);
    const vec newline = vsplat('\n');
    const vec backslash = vsplat('\\');
    vec seconds[MAX_SECONDS];
    for (int k = 0; k < width; k++)
        seconds[k] = vsplat(self->seconds[k < self->nseconds ? k : self->nseconds - 1]);
    Py_ssize_t lines = 0;
    /* Each round reads s[i .. i + 16]: position i + 15 with the byte after it. */
    for (; i + 17 <= end; i += 16) {
        const vec here = vload(s + i);
        const vec after = vload(s + i + 1);
        vec hit = veq(after, seconds[0]);
        for (int k = 1; k < width; k++)
            hit = vor(hit, veq(after, seconds[k]));
        vec found = vand(veq(here, lead), hit);
        if (escapes) /* every backslash: escape_at tells the few that matter */
            found = vor(found, veq(here, backslash));
        unsigned mask = vmask(found);
        const unsigned nl = counting ? vmask(veq(here, newline)) : 0;
        while (mask) {
            const int bit = __builtin_ctz(mask);
            const Py_ssize_t at = i + bit;
            if ((escapes && escape_at(s, at, end)) ||
                ((unsigned char)s[at] == self->lead && match_at(self, s, at, end))) {
                if (counting)
                    *newlines += lines + __builtin_popcount(nl & ((1u << bit) - 1));
                return i + bit;
            }
            mask &= mask - 1;
        }
        if (counting)
            lines += __builtin_popcount(nl);
    }
    if (counting)
        *newlines += lines;
    *next = i;
    return -1;
}
#endif

/* The leftmost needle (or escape, if escapes) in s[i:end], or -1; if counting, adds the
 * newlines before it (or in all of s[i:end]) to *newlines. */
ALWAYS_INLINE Py_ssize_t
find(const Finder *self, const char *s, Py_ssize_t i, Py_ssize_t end, Py_ssize_t *newlines,
     const int counting, const int escapes)
{
#if HAVE_SIMD
    if (self->simd) {
        const Py_ssize_t found =
            /* One compare per second byte and position: the narrowest unrolled width that
             * holds them all (the known names have 9 second bytes). */
            self->nseconds <= 8 ? find_simd(self, s, i, end, &i, newlines, 8, counting, escapes)
            : self->nseconds <= 10
                ? find_simd(self, s, i, end, &i, newlines, 10, counting, escapes)
            : self->nseconds <= 12
                ? find_simd(self, s, i, end, &i, newlines, 12, counting, escapes)
                : find_simd(self, s, i, end, &i, newlines, 16, counting, escapes);
        if (found >= 0)
            return found;
    }
#endif
    Py_ssize_t lines = 0;
    for (; i + 1 < end; i++) {
        if (((unsigned char)s[i] == self->lead && self->many[(unsigned char)s[i + 1]] &&
             match_at(self, s, i, end)) ||
            (escapes && escape_at(s, i, end))) {
            if (counting)
                *newlines += lines;
            return i;
        }
        if (counting)
            lines += s[i] == '\n';
    }
    if (counting)
        *newlines += lines + (i < end && s[i] == '\n');
    return -1;
}

static Py_ssize_t
find_plain(const Finder *self, const char *s, Py_ssize_t i, Py_ssize_t end)
{
    return self->escapes ? find(self, s, i, end, NULL, 0, 1) : find(self, s, i, end, NULL, 0, 0);
}

static Py_ssize_t
find_counting(const Finder *self, const char *s, Py_ssize_t i, Py_ssize_t end,
              Py_ssize_t *newlines)
{
    return self->escapes ? find(self, s, i, end, newlines, 1, 1)
                         : find(self, s, i, end, newlines, 1, 0);
}

/* Parses (data, pos=0, end=len(data)) with re's rules for pos and end. */
static int
parse_range(PyObject *const *args, Py_ssize_t nargs, const char *usage, Py_buffer *view,
            Py_ssize_t *pos, Py_ssize_t *end)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    if (PyObject_GetBuffer(args[0], view, PyBUF_SIMPLE) != 0)
        return -1;
    *pos = 0;
    *end = view->len;
    if ((nargs > 1 && (*pos = PyNumber_AsSsize_t(args[1], PyExc_OverflowError)) == -1 &&
         PyErr_Occurred()) ||
        (nargs > 2 && (*end = PyNumber_AsSsize_t(args[2], PyExc_OverflowError)) == -1 &&
         PyErr_Occurred())) {
        PyBuffer_Release(view);
        return -1;
    }
    if (*pos < 0)
        *pos = 0;
    if (*end > view->len)
        *end = view->len;
    return 0;
}

/* search() and scan(): the same walk, with or without counting newlines. */
static PyObject *
run(Finder *self, PyObject *const *args, Py_ssize_t nargs, const int counting)
{
    Py_buffer view;
    Py_ssize_t pos, end, found = -1, newlines = 0;
    const char *usage = counting ? "scan(data, pos=0, end=len(data))"
                                 : "search(data, pos=0, end=len(data))";
    if (parse_range(args, nargs, usage, &view, &pos, &end))
        return NULL;
    if (pos < end) {
        const char *s = (const char *)view.buf;
        if (end - pos >= RELEASE_GIL) {
            Py_BEGIN_ALLOW_THREADS
            found = counting ? find_counting(self, s, pos, end, &newlines)
                             : find_plain(self, s, pos, end);
            Py_END_ALLOW_THREADS
        }
        else {
            found = counting ? find_counting(self, s, pos, end, &newlines)
                             : find_plain(self, s, pos, end);
        }
    }
    PyBuffer_Release(&view);
    return counting ? Py_BuildValue("(nn)", found, newlines) : PyLong_FromSsize_t(found);
}

static PyObject *
Finder_search(Finder *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(self, args, nargs, 0);
}

static PyObject *
Finder_scan(Finder *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(self, args, nargs, 1);
}

static PyObject *
Finder_get_simd(Finder *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->simd);
}

static PyMethodDef Finder_methods[] = {
    {"search", (PyCFunction)(void (*)(void))Finder_search, METH_FASTCALL,
     "search(data, pos=0, end=len(data)) -> offset of the leftmost needle in "
     "data[pos:end], or -1."},
    {"scan", (PyCFunction)(void (*)(void))Finder_scan, METH_FASTCALL,
     "scan(data, pos=0, end=len(data)) -> (offset, newlines): search's offset, and the "
     "newlines in data[pos:offset] (in data[pos:end] when there is no match)."},
    {NULL, NULL, 0, NULL},
};

static PyObject *
Finder_get_escapes(Finder *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->escapes);
}

static PyGetSetDef Finder_getset[] = {
    {"simd", (getter)Finder_get_simd, NULL, "True if sixteen bytes are tested at once.", NULL},
    {"escapes", (getter)Finder_get_escapes, NULL,
     "True if \\u0040 to \\u007F escapes are found too.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FinderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "value_diag.ingest._finder.Finder",
    .tp_doc = "Finder(needles, simd=True, escapes=False): the leftmost of several byte "
              "strings (and of \\u0040-\\u007F escapes, with escapes).",
    .tp_basicsize = sizeof(Finder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Finder_init,
    .tp_dealloc = (destructor)Finder_dealloc,
    .tp_methods = Finder_methods,
    .tp_getset = Finder_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "value_diag.ingest._finder",
    .m_doc = "Compiled search for the known names (optional; finder.py falls back to re).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__finder(void)
{
    if (PyType_Ready(&FinderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "VECTORS", VECTORS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&FinderType);
    if (PyModule_AddObject(m, "Finder", (PyObject *)&FinderType) < 0) {
        Py_DECREF(&FinderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
