#include "storage/hash_value.h"
