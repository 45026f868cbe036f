#pragma once
// Placeholder: the list data type's representation goes here.
