/*
 * vpcd_frame.h - private to vcard: vsmartcard's vpcd framing as the card side
 * decodes it, apart from the socket (vpcd_link.c serves it; fuzz_vpcd_frame
 * feeds it bytes).  A frame is a 2-byte big-endian length and a payload; a
 * 1-byte payload is a control message, a longer one is a command APDU.
 */
#ifndef SCL_VPCD_FRAME_H
#define SCL_VPCD_FRAME_H

#include "vcard.h"

/* A frame longer than this is not an APDU our card could take (short APDUs
 * are at most 261 bytes; OpenSC chains longer ones), so the peer is not vpcd. */
#define VC_VPCD_FRAME_MAX 2048
/* The longest reply frame: the length and the larger of a response APDU and
 * an ATR. */
#define VC_VPCD_REPLY_MAX (2 + VC_RESP_MAX + 64)

/* What a frame asks for.  The control kinds carry vpcd's control bytes (as
 * in vsmartcard's vpcd.h); an APDU is anything longer than one byte. */
enum vc_vpcd_kind {
    VC_VPCD_CTRL_OFF = 0x00,
    VC_VPCD_CTRL_ON = 0x01,
    VC_VPCD_CTRL_RESET = 0x02,
    VC_VPCD_CTRL_ATR = 0x04,
    VC_VPCD_APDU = 0x100,
};

struct vc_vpcd_frame {
    enum vc_vpcd_kind kind;
    const uint8_t *apdu; /* into the decoded bytes; VC_VPCD_APDU only */
    size_t apdu_len;
};

/* Read and check one frame's length prefix (1..VC_VPCD_FRAME_MAX).  base is
 * the stream offset of c's start, for messages ("vpcd: byte N: ..."). */
int vc_vpcd_frame_len(struct cur *c, uint64_t base, uint16_t *len, struct scl_err *e);
/* Decode one whole frame from c: SCL_E_FORMAT for a bad length or an unknown
 * control byte, SCL_E_TRUNCATED when c ends inside the frame. */
int vc_vpcd_frame_decode(struct cur *c, uint64_t base, struct vc_vpcd_frame *f, struct scl_err *e);
/* Apply a decoded frame to the card and write the reply frame, if the frame
 * has one (ATR request, APDU), into reply; power off/on/reset write nothing. */
int vc_vpcd_frame_handle(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                         struct scl_err *e);
/* The name of a frame kind as logs spell it ("VPCD_CTRL_ATR", "APDU"). */
const char *vc_vpcd_kind_name(enum vc_vpcd_kind kind);

#endif
