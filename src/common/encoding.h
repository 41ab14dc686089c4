/*
 * encoding.h - the textual forms of 32-byte WireGuard keys: base64 (44
 * characters with one '=', as `wg` prints) and lower-case hex (64
 * characters, as the UAPI speaks).  Decoders run in constant time with
 * respect to the key's value and reject anything else (wrong length,
 * non-canonical padding bits, stray characters).
 */
#ifndef ZWG_ENCODING_H
#define ZWG_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define KEY_BASE64_LEN 44	/* without the NUL */
#define KEY_HEX_LEN 64

void key_to_base64(char out[KEY_BASE64_LEN + 1], const uint8_t key[KEY_LEN]);
bool key_from_base64(uint8_t key[KEY_LEN], const char *s) __attribute__((warn_unused_result));
void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN]);
bool key_from_hex(uint8_t key[KEY_LEN], const char *s) __attribute__((warn_unused_result));

#endif
