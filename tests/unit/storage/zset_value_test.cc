#include "storage/zset_value.h"
