// A plain number never becomes a power silently: the unit must be written.
// expect: (conversion from 'double' to non-scalar type 'cleori::kilowatts' requested|no viable conversion from 'double' to 'cleori::kilowatts')
// expect-errors: 1
#include <cleori/units/quantity.hpp>

cleori::kilowatts wrong = 50.0;
