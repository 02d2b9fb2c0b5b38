/*
 * host_asan_options.c - sanitizer defaults for bin/scardlab-host, linked only
 * in SCL_SANITIZE builds.  Not for options every program shares (those are in
 * CMakePresets.json); scoped to this binary so the suppressions cannot hide
 * a leak in any other program.
 */

const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

/* The host's leaks at exit are FreeRDP's, mostly allocated inside libcrypto,
 * which has no frame pointers: the fast unwinder stops there and the
 * suppressions below could not see the FreeRDP frame (tls_accept) above it.
 * The slow unwinder costs little here: the host allocates little. */
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

/* tls_accept: FreeRDP 2.11's server TLS reads the certificate and key on every
 * connection and never frees them (fixed upstream by FreeRDP/FreeRDP#8135).
 * libwinpr2.so: WinPR 2.11's NTLM server side (NLA, inside the peer's
 * CheckFileDescriptor) does not free copied auth identities and context
 * buffers; its static functions have no symbols, so the library is named.
 * The host's own threads are plain pthreads, so no frame of ours sits below
 * a libwinpr2 frame. */
const char *__lsan_default_suppressions(void)
{
    return "leak:tls_accept\nleak:libwinpr2.so\n";
}
