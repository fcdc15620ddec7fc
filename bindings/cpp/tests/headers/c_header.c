/* sessionstore.h compiled on its own as C. */
#include "sessionstore.h"

typedef char ss_status_is_32_bits[sizeof(ss_status) == 4 ? 1 : -1];
static const char *version_string = SS_VERSION_STRING;
const char *sessionstore_header_c_check(void) { return version_string; }
