// sessionstore.h compiled on its own as C++.
#include "sessionstore.h"

static_assert(sizeof(ss_status) == 4, "ss_status is 32 bits");
static_assert(SS_STATUS_OK == 0, "OK is 0");
const char* sessionstore_header_cxx_check() { return ss_version(); }
