#pragma once
// Placeholder: the zset data type's representation goes here.
