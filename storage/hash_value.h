#pragma once
// Placeholder: the hash data type's representation goes here.
