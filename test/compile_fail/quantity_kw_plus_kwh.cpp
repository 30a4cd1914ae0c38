// Power and energy do not add.
// expect: (no match for 'operator\+'|invalid operands to binary expression)
// expect: kilowatt_hours
// expect-errors: 1
#include <cleori/units/quantity.hpp>

auto wrong = cleori::kilowatts{50} + cleori::kilowatt_hours{10};
