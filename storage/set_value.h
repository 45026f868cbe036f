#pragma once
// Placeholder: the set data type's representation goes here.
