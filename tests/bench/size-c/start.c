/* The smallest startup that makes a linkable bare-metal program: a reset
 * entry that sets the stack and calls main. The size programs are only
 * linked and measured, never run, so there is no .data copy or .bss zeroing
 * (a few dozen bytes on a real board). */
int main(void);
void _start(void);

#if defined(__arm__)
extern char __stack_top[];
__attribute__((section(".vectors"), used)) static void *const vectors[2] = {
    __stack_top,
    (void *)_start,
};
void _start(void)
{
    (void)main();
    for (;;) {
    }
}
#elif defined(__riscv)
__attribute__((naked, section(".text.start"))) void _start(void)
{
    __asm__ volatile("la sp, __stack_top\n\tcall main\n1:\tj 1b");
}
#else
#error "unsupported architecture"
#endif
