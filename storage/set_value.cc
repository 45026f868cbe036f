#include "storage/set_value.h"
