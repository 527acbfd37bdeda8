/* Test shim for Wine 8, which lacks bcryptprimitives.dll: Rust's std imports ProcessPrng from it.
   Fills the buffer through advapi32's SystemFunction036 (RtlGenRandom). Never shipped. */
#include <windows.h>
typedef BOOLEAN (WINAPI *RtlGenRandomFn)(PVOID, ULONG);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    static RtlGenRandomFn gen = NULL;
    if (!gen) {
        HMODULE h = LoadLibraryA("advapi32.dll");
        if (!h) return FALSE;
        gen = (RtlGenRandomFn)GetProcAddress(h, "SystemFunction036");
        if (!gen) return FALSE;
    }
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!gen(data, chunk)) return FALSE;
        data += chunk; len -= chunk;
    }
    return TRUE;
}
