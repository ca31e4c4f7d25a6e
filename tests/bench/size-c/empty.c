/* The baseline: the same startup and pretend link, no library call. The
 * library's share of a program is that program minus this one. */
#include <stdint.h>

#define LINK_TX (*(volatile uint8_t *)0x40000000u)
#define LINK_RX (*(volatile uint8_t *)0x40000004u)

int main(void)
{
    for (;;) {
        LINK_TX = LINK_RX;
    }
}
