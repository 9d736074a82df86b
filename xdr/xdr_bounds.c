/*
 * Length checks in front of libtirpc's variable-length decoders.
 *
 * libtirpc's xdr_bytes, xdr_string and xdr_array allocate the length the peer claims (up to
 * the IDL bound, which for opaque<> and string<> is 4 GiB) before they look at whether that
 * many bytes follow. A 100-byte hostile record could make the server allocate gigabytes per
 * field. The generated codec is linked with -Wl,--wrap for these three routines (see
 * CMakeLists.txt): when decoding from a memory stream, the wrappers peek at the claimed length
 * and refuse it (a decode failure: NFS4ERR_BADXDR or GARBAGE_ARGS upstream) when the stream
 * cannot possibly hold it, then hand over to the real routine.
 *
 * How much is left in a memory stream is libtirpc's x_handy (xdr_mem.c keeps the remaining
 * byte count there); other stream kinds are passed through unchecked.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rpc/rpc.h>

bool_t __real_xdr_bytes(XDR *xdrs, char **cpp, u_int *sizep, u_int maxsize);
bool_t __real_xdr_string(XDR *xdrs, char **cpp, u_int maxsize);
bool_t __real_xdr_array(XDR *xdrs, caddr_t *addrp, u_int *sizep, u_int maxsize, u_int elsize,
			xdrproc_t elproc);
bool_t __wrap_xdr_bytes(XDR *xdrs, char **cpp, u_int *sizep, u_int maxsize);
bool_t __wrap_xdr_string(XDR *xdrs, char **cpp, u_int maxsize);
bool_t __wrap_xdr_array(XDR *xdrs, caddr_t *addrp, u_int *sizep, u_int maxsize, u_int elsize,
			xdrproc_t elproc);

/* The ops table of memory streams, learnt from one. */
static const void *mem_ops(void)
{
	static const struct xdr_ops *ops;

	if (!ops) {
		XDR x;
		char b[4];

		xdrmem_create(&x, b, sizeof(b), XDR_DECODE);
		ops = x.x_ops;
	}
	return ops;
}

/*
 * When decoding from memory and the stream will allocate: may a length of n units of unit
 * bytes each follow the length word? Peeks at the word without consuming it.
 */
static bool claim_fits(XDR *xdrs, bool allocates, u_int unit)
{
	u_int pos, n, left;

	if (xdrs->x_op != XDR_DECODE || !allocates || xdrs->x_ops != mem_ops())
		return true;
	pos = xdr_getpos(xdrs);
	if (!xdr_u_int(xdrs, &n))
		return true; /* the real routine fails the same way */
	left = xdrs->x_handy;
	xdr_setpos(xdrs, pos);
	return (uint64_t)n * unit <= left;
}

bool_t __wrap_xdr_bytes(XDR *xdrs, char **cpp, u_int *sizep, u_int maxsize)
{
	if (!claim_fits(xdrs, *cpp == NULL, 1))
		return FALSE;
	return __real_xdr_bytes(xdrs, cpp, sizep, maxsize);
}

bool_t __wrap_xdr_string(XDR *xdrs, char **cpp, u_int maxsize)
{
	if (!claim_fits(xdrs, *cpp == NULL, 1))
		return FALSE;
	return __real_xdr_string(xdrs, cpp, maxsize);
}

/* Every element of an XDR array takes at least 4 bytes on the wire (RFC 4506 §4: all items
 * are multiples of four bytes; void elements do not occur in the NFSv4 IDL). */
bool_t __wrap_xdr_array(XDR *xdrs, caddr_t *addrp, u_int *sizep, u_int maxsize, u_int elsize,
			xdrproc_t elproc)
{
	if (!claim_fits(xdrs, *addrp == NULL, 4))
		return FALSE;
	return __real_xdr_array(xdrs, addrp, sizep, maxsize, elsize, elproc);
}
