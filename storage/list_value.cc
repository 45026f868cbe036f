#include "storage/list_value.h"
